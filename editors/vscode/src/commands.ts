/** The editor commands: rewrite the selection (`diffill/rewriteRange`) and fill hole markers (`diffill.fillHoles`). */
import * as vscode from 'vscode';
import {
  ExecuteCommandRequest, RequestType, type LanguageClient, type Range, type VersionedTextDocumentIdentifier,
} from 'vscode-languageclient/node';

/** diffill's own request, as docs/PROTOCOL.md describes it. */
interface RewriteRangeParams { textDocument: VersionedTextDocumentIdentifier; range: Range; n?: number }
interface RewriteEdit { range: Range; newText: string; syntaxOk: boolean; logprob: number }
interface RewriteRangeResult {
  edits: RewriteEdit[]; version: number; kind: string; steps: number; tokensPerForward: number; ms: number;
  cached: boolean;
}
const REWRITE_RANGE = new RequestType<RewriteRangeParams, RewriteRangeResult, void>('diffill/rewriteRange');
const FILL_HOLES = 'diffill.fillHoles';  // server command: arguments [uri, version]
const HOLE_MARKER = '<|fill|>';

export const BEFORE_SCHEME = 'diffill-before';

/** The text of a document before diffill's last rewrite of it, for "Show Diff". */
export class BeforeRewrite implements vscode.TextDocumentContentProvider {
  private readonly texts = new Map<string, string>();

  remember(document: vscode.TextDocument): vscode.Uri {
    this.texts.set(document.uri.toString(), document.getText());
    return vscode.Uri.from({ scheme: BEFORE_SCHEME, path: document.uri.path, query: document.uri.toString() });
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.query) ?? '';
  }
}

const flash = vscode.window.createTextEditorDecorationType({
  backgroundColor: new vscode.ThemeColor('diffEditor.insertedTextBackground'),
  isWholeLine: false,
});

function progress<T>(title: string, task: (token: vscode.CancellationToken) => Thenable<T>): Thenable<T> {
  return vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true },
    (_, token) => task(token));
}

/**
 * Rewrite the selection (the current line when nothing is selected) with the model's best
 * alternative, then show the change: the new text is selected and highlighted, and a message
 * offers the diff against the text before. One undo step takes it back.
 */
export async function rewriteSelection(
  client: LanguageClient, before: BeforeRewrite, serverState: string,
): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    return;
  }
  const document = editor.document;
  const range = editor.selection.isEmpty ? document.lineAt(editor.selection.active.line).range : editor.selection;
  const params: RewriteRangeParams = {
    textDocument: { uri: client.code2ProtocolConverter.asUri(document.uri), version: document.version },
    range: client.code2ProtocolConverter.asRange(range),
    n: 1,
  };
  const result = await progress('diffill: rewriting the selection…',
    (token) => client.sendRequest(REWRITE_RANGE, params, token));
  const best = result.edits[0];
  if (!best) {
    const why = serverState === 'loading' ? 'the model is still loading' : 'the model found nothing to offer';
    void vscode.window.showInformationMessage(`diffill: no rewrite for this selection (${why}).`);
    return;
  }
  if (document.version !== result.version) {
    void vscode.window.showInformationMessage('diffill: the document changed during the rewrite; run it again.');
    return;
  }
  const target = client.protocol2CodeConverter.asRange(best.range);
  if (document.getText(target) === best.newText) {
    void vscode.window.showInformationMessage('diffill: the model would keep this selection as it is.');
    return;
  }
  const beforeUri = before.remember(document);
  if (!await editor.edit((edit) => edit.replace(target, best.newText))) {
    void vscode.window.showWarningMessage('diffill: the rewrite could not be applied.');
    return;
  }
  const start = target.start;
  const end = document.positionAt(document.offsetAt(start) + best.newText.length);
  editor.selection = new vscode.Selection(start, end);
  editor.revealRange(new vscode.Range(start, end));
  editor.setDecorations(flash, [new vscode.Range(start, end)]);
  setTimeout(() => editor.setDecorations(flash, []), 3000);
  const lines = start.line === end.line ? `line ${start.line + 1}` : `lines ${start.line + 1}-${end.line + 1}`;
  const caveat = best.syntaxOk ? '' : ' It parses worse than before.';
  void vscode.window.showInformationMessage(`diffill rewrote ${lines} (undo to take it back).${caveat}`, 'Show Diff')
    .then((choice) => choice && vscode.commands.executeCommand('vscode.diff', beforeUri, document.uri,
      `${vscode.workspace.asRelativePath(document.uri)}: before ↔ after diffill`));
}

/** Fill every `<|fill|>` marker; the server applies the edits (workspace/applyEdit, versioned). */
export async function fillHoleMarkers(client: LanguageClient): Promise<void> {
  const document = vscode.window.activeTextEditor?.document;
  if (!document) {
    return;
  }
  const holes = document.getText().split(HOLE_MARKER).length - 1;
  if (holes === 0) {
    void vscode.window.showInformationMessage(`diffill: no ${HOLE_MARKER} markers in this file.`);
    return;
  }
  const args = [client.code2ProtocolConverter.asUri(document.uri), document.version];
  const applied: unknown = await progress(`diffill: filling ${holes} hole${holes > 1 ? 's' : ''}…`,
    (token) => client.sendRequest(ExecuteCommandRequest.type, { command: FILL_HOLES, arguments: args }, token));
  if (applied !== true) {
    void vscode.window.showInformationMessage(
      'diffill: the holes were not filled (the document changed, or the model is not ready yet).');
  }
}
