/**
 * diffill for VS Code: starts `diffill serve` over stdio and wires it into the editor. Ghost text
 * comes from the language client's inline-completion support (so VS Code's own accept, accept
 * word and accept line work); the commands, status bar and messages live in small modules.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import * as vscode from 'vscode';
import {
  DidChangeConfigurationNotification, LanguageClient, MessageType, RevealOutputChannelOn, ShowMessageNotification,
  State, type LanguageClientOptions,
} from 'vscode-languageclient/node';
import { BEFORE_SCHEME, BeforeRewrite, fillHoleMarkers, rewriteSelection } from './commands';
import { InlineTrigger } from './inline';
import { reportFailure, resetShown, showOnce } from './notify';
import { serverExecutable, serverSettings } from './settings';
import { StatusItem } from './status';

interface StatusParams { state: string; message?: string | null }

let client: LanguageClient | undefined;
let log: vscode.LogOutputChannel;
let status: StatusItem;
let serverState = 'starting';
const inline = new InlineTrigger();

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  log = vscode.window.createOutputChannel('diffill', { log: true });
  status = new StatusItem('diffill.showLog');
  const before = new BeforeRewrite();
  context.subscriptions.push(
    log, status,
    vscode.workspace.registerTextDocumentContentProvider(BEFORE_SCHEME, before),
    vscode.commands.registerCommand('diffill.rewriteSelection',
      () => withClient('rewrite', (c) => rewriteSelection(c, before, serverState))),
    vscode.commands.registerCommand('diffill.fillHoleMarkers', () => withClient('fill holes', fillHoleMarkers)),
    vscode.commands.registerCommand('diffill.restartServer', restart),
    vscode.commands.registerCommand('diffill.showLog', () => log.show(true)),
    vscode.workspace.onDidChangeConfiguration(onConfigurationChange),
  );
  await start();
}

export function deactivate(): Thenable<void> | undefined {
  return client?.isRunning() ? client.stop() : undefined;
}

function clientOptions(): LanguageClientOptions {
  return {
    documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],  // the server filters by enabledLanguages
    initializationOptions: serverSettings(),
    outputChannel: log,
    revealOutputChannelOn: RevealOutputChannelOn.Never,  // failures are shown once by notify.ts instead
    stdioOptions: {
      stdout: (input) => lines(input, (line) => log.info(line)),  // stdout is the transport: nothing comes here
      stderr: (input) => lines(input, serverLog),
    },
    middleware: {
      provideInlineCompletionItems: async (document, position, context, token, next) => {
        try {
          return await inline.provide(document, position, context, token, next);
        } catch (error) {
          reportFailure('inline suggestion', error, log);
          return null;
        }
      },
    },
  };
}

function lines(input: Readable, each: (line: string) => void): void {
  createInterface({ input, crlfDelay: Infinity, terminal: false }).on('line', each);
}

/** The server logs to stderr as "<date> <time> LEVEL logger: message": keep its level, drop its clock. */
function serverLog(line: string): void {
  const match = /^\S+ \S+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) (.*)$/.exec(line);
  const [level, message] = match ? [match[1], match[2] ?? ''] : ['ERROR', line];  // a traceback line, say
  const write = { DEBUG: log.debug, INFO: log.info, WARNING: log.warn }[level ?? 'ERROR'] ?? log.error;
  write.call(log, `[server] ${message}`);
}

async function start(): Promise<void> {
  resetShown();
  const executable = serverExecutable();
  const c = new LanguageClient('diffill', 'diffill', { run: executable, debug: executable }, clientOptions());
  c.onNotification('diffill/status', (params: StatusParams) => {
    if (client !== c) {
      return;  // a client being replaced by a restart
    }
    serverState = params.state;
    status.set(params.state, params.message);
  });
  // Replaces the client's own handler: the same warning (e.g. a bad setting) is shown only once.
  c.onNotification(ShowMessageNotification.type, ({ type, message }) => {
    if (type === MessageType.Error || type === MessageType.Warning) {
      showOnce(type === MessageType.Error ? 'error' : 'warning', message, log);
    } else {
      void vscode.window.showInformationMessage(message);
    }
  });
  c.onDidChangeState(({ newState }) => {
    if (client !== c) {
      return;
    }
    if (newState === State.Starting) {
      status.set(serverState = 'starting');
    } else if (newState === State.Stopped) {
      status.set(serverState = 'stopped');
    }
  });
  client = c;
  log.info(`starting ${executable.command} ${(executable.args ?? []).join(' ')}`);
  try {
    await c.start();
  } catch (error) {
    // The language client has already shown "couldn't create connection to server" with a link to the log.
    log.error(`the server did not start: ${error instanceof Error ? error.message : String(error)}; `
      + 'set diffill.server.path or diffill.server.pythonPath');
    status.set(serverState = 'error', 'the server did not start');
  }
}

async function restart(): Promise<void> {
  const old = client;
  client = undefined;
  if (old?.isRunning()) {
    await old.dispose().catch((error: unknown) => log.warn(`stopping the server: ${String(error)}`));
  }
  await start();
}

function onConfigurationChange(event: vscode.ConfigurationChangeEvent): void {
  if (event.affectsConfiguration('diffill.server')) {
    void restart();  // a new command line needs a new process
  } else if (event.affectsConfiguration('diffill') && client?.isRunning()) {
    // The server merges the section onto its settings; trace changes are handled by the client itself.
    void client.sendNotification(DidChangeConfigurationNotification.type, { settings: { diffill: serverSettings() } });
  }
}

async function withClient(what: string, action: (c: LanguageClient) => Promise<void>): Promise<void> {
  if (!client?.isRunning()) {
    void vscode.window.showWarningMessage('diffill: the server is not running.', 'Show Log', 'Restart')
      .then((choice) => choice === 'Show Log' ? log.show(true) : choice && restart());
    return;
  }
  try {
    await action(client);
  } catch (error) {
    reportFailure(what, error, log);
  }
}
