// The VS Code extension end to end, in real VS Code: code-server with the built .vsix installed,
// driven by headless Chromium (playwright-core), against the real `diffill serve` and shipped model.
//
// The workspace is hostile: its .vscode/settings.json points every setting that chooses what runs
// or what is loaded (diffill.server.*, modelPath, trustRemoteCode, logFile, acceptanceLog) at
// something else; the extension must ignore all of them (machine scope) and start the server of
// the machine settings (diffill.server.path, a wrapper around DIFFILL_PYTHON).
//
// It opens a Python file from that workspace, types, waits for ghost text, accepts the next word
// with VS Code's own Ctrl+Right and the rest of the line with Alt+Down (the extension's keybinding
// for acceptNextLine), and checks the saved file against what
// a second diffill server answers for the same text (tests/editors/reference.py: greedy, one thread,
// so the same question gets the same answer). Then it selects a line, runs "diffill: Rewrite
// Selection" from the command palette and checks the file against the server's rewrite; then
// in a second file (fixtures/repeated/loaders.py, four functions that read a JSON file the same way
// and a fifth being written) the ghost text must be the known right continuation, not just the
// server's answer, and Tab inserts it; then "Fill Hole Markers" on a `<|fill|>` marker in that body
// line (filled with the right text), "Restart Server", a bad setting changed while it runs (one
// warning), diffill.inline.trigger = "manual" (ghost text on Alt+\\), a marker left as it is when no
// fill is confident enough (minConfidence 1.0), and a server that cannot start (status bar error, one
// message, a click on the item shows the log).
// Every wait is on a state (the status bar, the cursor position, the file on disk, the server's
// log), never a fixed time.
// Screenshots go to $ARTIFACTS. Run it through tests/editors/run_vscode_e2e.sh.
//
// Environment: CODE_SERVER (its bin), VSIX, DIFFILL_PYTHON (a Python with diffill), ARTIFACTS,
// optional CHROMIUM (default /usr/bin/chromium), KEEP_WORKDIR=1.

import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
const FIXTURE = join(HERE, 'fixtures', 'workspace');
const FILE = 'arith.py';
const TYPE_LINE = 10; // 1-based: "    return" in mul(); the test types " a" at its end ("a" after a space)
const REWRITE_LINE = 6; // 1-based: "    return a - b" in sub(), selected whole and rewritten
// The right answer: loaders.py's last line is "        return"; after " j" only one continuation
// fits, the one its four other functions have. Copied into the workspace only when it is used, so
// the workspace index has nothing of it while arith.py is checked against the reference server.
const REPEATED = join(HERE, 'fixtures', 'repeated', 'loaders.py');
const REPEATED_TYPED = ' j';
const REPEATED_RIGHT = 'son.load(f)';
// The same body line as a hole marker: the fill the engine is sure of is the rest of the line.
const HOLE_MARKER = '<|fill|>';
const HOLE_RIGHT = 'json.load(f)';

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`set ${name}`);
  return value;
};
const CODE_SERVER = env('CODE_SERVER');
const VSIX = env('VSIX');
const PYTHON = env('DIFFILL_PYTHON');
const ARTIFACTS = env('ARTIFACTS', join(HERE, 'artifacts', 'vscode'));
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');

const started = Date.now();
const say = (message) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${message}`);

function check(ok, message) {
  if (!ok) throw new Error(`assertion failed: ${message}`);
  say(`ok: ${message}`);
}

/** The server's own answers for `text`, from a separate `diffill serve` (reference.py). */
function reference(spec, work) {
  const file = join(work, `spec-${Date.now()}.json`);
  writeFileSync(file, JSON.stringify(spec));
  const run = spawnSync(PYTHON, [join(HERE, 'reference.py'), file], {
    encoding: 'utf8', env: { ...process.env, DIFFILL_THREADS: '1' }, timeout: 300_000,
  });
  if (run.status !== 0) throw new Error(`reference.py failed: ${run.stderr.slice(-2000)}`);
  return JSON.parse(run.stdout.trim().split('\n').pop());
}

async function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    }).on('error', reject);
  });
}

async function waitFor(what, probe, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    try {
      last = await probe();
      if (last) return last;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what} (last: ${last})`);
}

/** Run a command from the command palette (F1). */
async function command(page, title, beforeEnter) {
  await page.keyboard.press('F1');
  await page.waitForSelector('.quick-input-widget input', { state: 'visible', timeout: 20_000 });
  await page.keyboard.type(title, { delay: 20 });
  await page.locator('.quick-input-list .monaco-list-row', { hasText: title.replace(/^diffill: /, '') }).first()
    .waitFor({ timeout: 20_000 });
  await beforeEnter?.();
  await page.keyboard.press('Enter');
}

/** Wait until the status bar shows the cursor at line:column (1-based). */
async function cursorAt(page, line, column) {
  await page.locator('.statusbar-item', { hasText: new RegExp(`^Ln ${line}, Col ${column}$`) }).first()
    .waitFor({ timeout: 20_000 });
}

/** Go to line:column with Go to Line (Ctrl+G) and wait until the cursor is there. */
async function goTo(page, line, column) {
  await page.keyboard.press('Control+G');
  await page.keyboard.type(`${line}:${column}`, { delay: 20 });
  await page.keyboard.press('Enter');
  await cursorAt(page, line, column);
}

/** Open `file` of the workspace with Quick Open and wait until the editor shows `text` (again if a
 * keystroke got lost while the workbench was busy). */
async function openFile(page, editor, file, text) {
  await waitFor(`${file} open in an editor`, async () => {
    await page.keyboard.press('Escape');
    await page.keyboard.press('Control+P');
    await page.waitForSelector('.quick-input-widget input', { state: 'visible', timeout: 10_000 });
    await page.keyboard.type(file, { delay: 20 });
    await page.locator('.quick-input-list .monaco-list-row', { hasText: file }).first().waitFor({ timeout: 10_000 });
    await page.keyboard.press('Enter');
    await editor.locator('.view-lines', { hasText: text }).waitFor({ timeout: 10_000 });
    return true;
  }, 60_000);
  say(`opened ${file}`);
}

/** A workspace that tries to choose what runs: every such setting points at something of its own. */
function hostileWorkspace(workspace) {
  const evil = join(workspace, 'evil.sh');
  writeFileSync(evil, `#!/bin/sh\ntouch '${join(workspace, 'PWNED')}'\nexit 1\n`);
  chmodSync(evil, 0o755);
  mkdirSync(join(workspace, '.vscode'), { recursive: true });
  writeFileSync(join(workspace, '.vscode', 'settings.json'), JSON.stringify({
    'diffill.server.path': evil,
    'diffill.server.pythonPath': evil,
    'diffill.server.args': ['--evil'],
    'diffill.server.env': { DIFFILL_EVIL: '1' },
    'diffill.modelPath': join(workspace, 'model'),
    'diffill.trustRemoteCode': true,
    'diffill.logFile': join(workspace, 'evil.log'),
    'diffill.acceptanceLog': join(workspace, 'evil.jsonl'),
  }, null, 2));
}

/** The machine's `diffill` command: the checkout's Python running the server (as a pip install would). */
function serverWrapper(work) {
  mkdirSync(join(work, 'bin'), { recursive: true });
  const path = join(work, 'bin', 'diffill');
  writeFileSync(path, `#!/bin/sh\nexec '${PYTHON}' -m diffill.lsp.cli "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}

function settings(work) {
  return {
    // The extension under test: the real server from this checkout, one torch thread, patient deadlines.
    'diffill.server.path': join(work, 'bin', 'diffill'),
    'diffill.server.env': { DIFFILL_THREADS: '1' },
    'diffill.deadlineMs': 60000,
    'diffill.typingDeadlineMs': 60000, // typed requests give way past theirs: patient on a busy machine too
    'diffill.rewriteDeadlineMs': 120000,
    'diffill.acceptanceLog': join(ARTIFACTS, 'accepted.jsonl'),
    'diffill.logFile': join(ARTIFACTS, 'server.log'),
    'diffill.trace.server': 'messages',
    // A quiet VS Code: nothing else pops up over the editor or takes Tab.
    'workbench.startupEditor': 'none',
    'workbench.secondarySideBar.defaultVisibility': 'hidden',
    'workbench.tips.enabled': false,
    'workbench.enableExperiments': false,
    'workbench.welcomePage.walkthroughs.openOnInstall': false,
    'extensions.ignoreRecommendations': true,
    'extensions.autoCheckUpdates': false,
    'extensions.autoUpdate': false,
    'update.mode': 'none',
    'telemetry.telemetryLevel': 'off',
    'security.workspace.trust.enabled': false,
    'chat.disableAIFeatures': true,
    'editor.quickSuggestions': { other: 'off', comments: 'off', strings: 'off' },
    'editor.suggestOnTriggerCharacters': false,
    'editor.wordBasedSuggestions': 'off',
    'editor.inlineSuggest.enabled': true,
    'editor.minimap.enabled': false,
    'files.autoSave': 'off',
    'files.trimTrailingWhitespace': false,
    'files.insertFinalNewline': false,
    'git.enabled': false,
    'python.languageServer': 'None',
  };
}

async function main() {
  mkdirSync(ARTIFACTS, { recursive: true });
  for (const f of ['accepted.jsonl', 'server.log']) rmSync(join(ARTIFACTS, f), { force: true });
  const work = mkdtempSync(join(tmpdir(), 'diffill-vscode-e2e-'));
  const userData = join(work, 'user-data');
  const extensions = join(work, 'extensions');
  const workspace = join(work, 'workspace');
  cpSync(FIXTURE, workspace, { recursive: true });
  hostileWorkspace(workspace);
  serverWrapper(work);
  mkdirSync(join(userData, 'User'), { recursive: true });
  writeFileSync(join(userData, 'User', 'settings.json'), JSON.stringify(settings(work), null, 2));
  // code-server is a remote window: machine-scoped settings (diffill.server.*) are read from Machine/.
  mkdirSync(join(userData, 'Machine'), { recursive: true });
  writeFileSync(join(userData, 'Machine', 'settings.json'), JSON.stringify(settings(work), null, 2));
  const csEnv = {
    ...process.env,
    XDG_CONFIG_HOME: join(work, 'config'), XDG_DATA_HOME: join(work, 'data'), XDG_CACHE_HOME: join(work, 'cache'),
    DIFFILL_THREADS: '1',
  };

  say(`installing ${VSIX}`);
  const install = spawnSync(CODE_SERVER, ['--install-extension', VSIX, '--extensions-dir', extensions,
    '--user-data-dir', userData], { encoding: 'utf8', env: csEnv, timeout: 120_000 });
  check(install.status === 0 && /successfully installed/i.test(install.stdout + install.stderr),
    `code-server installed the .vsix (${(install.stdout + install.stderr).trim().split('\n').pop()})`);

  const port = await freePort();
  const csLog = [];
  const codeServer = spawn(CODE_SERVER, [
    '--bind-addr', `127.0.0.1:${port}`, '--auth', 'none', '--user-data-dir', userData, '--extensions-dir', extensions,
    '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', '--disable-getting-started-override',
    workspace,
  ], { env: csEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  for (const stream of [codeServer.stdout, codeServer.stderr]) stream.on('data', (d) => csLog.push(String(d)));

  let browser;
  let page;
  const stop = () => {
    try { process.kill(-codeServer.pid, 'SIGTERM'); } catch { /* already gone */ }
  };
  try {
    await waitFor('code-server to listen', async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 60_000);
    say(`code-server on port ${port}`);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
        '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const shot = async (name) => {
      await page.screenshot({ path: join(ARTIFACTS, name) });
      say(`screenshot ${join(ARTIFACTS, name)}`);
    };
    await page.goto(`http://127.0.0.1:${port}/?folder=${encodeURIComponent(workspace)}`);
    await page.waitForSelector('.monaco-workbench', { timeout: 60_000 });

    const editor = page.locator('.editor-instance .monaco-editor').first();
    await openFile(page, editor, FILE, 'def mul');

    const status = page.locator('[aria-label^="diffill: ready"]');
    await status.first().waitFor({ timeout: 180_000 });
    check(true, 'the status bar says the server is ready');
    await shot('01-ready.png');
    check(!existsSync(join(workspace, 'PWNED')),
      'the workspace\'s diffill.server.path / pythonPath did not run (the machine\'s server.path did)');

    // What the server answers after " a" is typed at the end of line TYPE_LINE.
    const original = readFileSync(join(workspace, FILE), 'utf8');
    const lines = original.split('\n');
    const typing = lines[TYPE_LINE - 1].endsWith(' ') ? 'a' : ' a';
    const typedLine = lines[TYPE_LINE - 1] + typing;
    const typedText = [...lines.slice(0, TYPE_LINE - 1), typedLine, ...lines.slice(TYPE_LINE)].join('\n');
    const expected = reference({ text: typedText, inline: [[TYPE_LINE - 1, typedLine.length]] }, work).inline[0];
    check(typeof expected === 'string' && expected.length > 0, `the reference server suggests ${JSON.stringify(expected)}`);

    // Type at the end of the line: ghost text from the extension's server must appear.
    await goTo(page, TYPE_LINE, lines[TYPE_LINE - 1].length + 1);
    await page.keyboard.type(typing, { delay: 80 });
    const ghost = editor.locator('.ghost-text-decoration');
    const shown = await waitFor('ghost text', async () => {
      const texts = await ghost.allTextContents();
      return texts.join('') || undefined;
    }, 120_000);
    await shot('02-ghost-text.png');
    check(shown.replace(/\u00a0/g, ' ') === expected, `ghost text ${JSON.stringify(shown)} is the server's suggestion`);

    // VS Code's own "accept next word" (Ctrl+Right), then the rest of the line with Alt+Down.
    await page.keyboard.press('Control+ArrowRight');
    await page.keyboard.press('Control+S'); // the file on disk tells what the editor really holds
    const partial = (await waitFor('the saved partial accept', () => {
      const text = readFileSync(join(workspace, FILE), 'utf8');
      return text !== original ? text : undefined;
    }, 20_000)).split('\n')[TYPE_LINE - 1];
    await shot('03-accepted-word.png');
    check(partial.length > typedLine.length && (typedLine + expected).startsWith(partial)
      && partial.length < (typedLine + expected).length,
    `Ctrl+Right accepted part of the suggestion: ${JSON.stringify(partial)}`);
    await waitFor('the rest of the suggestion as ghost text', async () => (await ghost.allTextContents()).join(''), 60_000);
    await page.keyboard.press('Alt+ArrowDown'); // the extension's keybinding for acceptNextLine
    await page.keyboard.press('Control+S');
    const accepted = await waitFor('the saved file with the suggestion', () => {
      const text = readFileSync(join(workspace, FILE), 'utf8');
      return text.split('\n')[TYPE_LINE - 1] !== partial ? text : undefined;
    }, 20_000);
    await shot('04-accepted.png');
    check(accepted.split('\n')[TYPE_LINE - 1] === typedLine + expected,
      `after Alt+Down line ${TYPE_LINE} is ${JSON.stringify(typedLine + expected)}`);
    const wantAccepted = [...lines.slice(0, TYPE_LINE - 1), typedLine + expected, ...lines.slice(TYPE_LINE)].join('\n');
    check(accepted === wantAccepted, 'nothing else in the file changed');
    const log = await waitFor('the acceptance log', () => existsSync(join(ARTIFACTS, 'accepted.jsonl'))
      && readFileSync(join(ARTIFACTS, 'accepted.jsonl'), 'utf8').trim(), 20_000);
    check(log.split('\n').every((l) => JSON.parse(l).uri.endsWith(FILE)),
      `the server logged the acceptance (${log.split('\n').length} line(s))`);
    check(['evil.log', 'evil.jsonl', 'PWNED'].every((f) => !existsSync(join(workspace, f))),
      'the workspace\'s diffill.logFile / acceptanceLog were ignored (the machine\'s were used)');

    // Rewrite a whole line from the command palette.
    const before = accepted.split('\n');
    const selected = before[REWRITE_LINE - 1];
    const rewrite = reference({ text: accepted, rewrite: [[REWRITE_LINE - 1, 0, REWRITE_LINE - 1, selected.length]] },
      work).rewrite[0];
    check(typeof rewrite === 'string', `the reference server rewrites ${JSON.stringify(selected)} as ${JSON.stringify(rewrite)}`);
    await goTo(page, REWRITE_LINE, 1);
    await page.keyboard.press('Shift+End');
    await command(page, 'diffill: Rewrite Selection', () => shot('05-command-palette.png'));
    const want = [...before.slice(0, REWRITE_LINE - 1), rewrite, ...before.slice(REWRITE_LINE)].join('\n');
    if (want === accepted) {
      await page.getByText('would keep this selection as it is').first().waitFor({ timeout: 180_000 });
      await shot('06-rewritten.png');
      check(readFileSync(join(workspace, FILE), 'utf8') === accepted, 'the server keeps the line, and so does the editor');
    } else {
      await page.getByText('diffill rewrote line').first().waitFor({ timeout: 180_000 });
      await shot('06-rewritten.png');
      await page.keyboard.press('Control+S');
      const rewritten = await waitFor('the saved rewrite', () => {
        const text = readFileSync(join(workspace, FILE), 'utf8');
        return text !== accepted ? text : undefined;
      }, 20_000);
      check(rewritten === want, `line ${REWRITE_LINE} ${JSON.stringify(selected)} became ${JSON.stringify(rewrite)}, as the server says`);
    }

    // The known right answer, at the server's default confidence threshold.
    const loaders = 'loaders.py';
    cpSync(REPEATED, join(workspace, loaders));
    const repeated = readFileSync(REPEATED, 'utf8');
    const rows = repeated.split('\n').slice(0, -1); // the file ends with a newline
    await openFile(page, editor, loaders, 'def load_stock');
    await goTo(page, rows.length, rows[rows.length - 1].length + 1);
    await page.keyboard.type(REPEATED_TYPED, { delay: 80 });
    const right = await waitFor('ghost text in loaders.py', async () => (await ghost.allTextContents()).join('')
      || undefined, 120_000);
    await shot('06b-right-answer.png');
    check(right.replace(/\u00a0/g, ' ') === REPEATED_RIGHT, `ghost text ${JSON.stringify(right)} is the right continuation`);
    await page.keyboard.press('Tab');
    await page.keyboard.press('Control+S');
    const completed = await waitFor('the saved loaders.py', () => {
      const text = readFileSync(join(workspace, loaders), 'utf8');
      return text !== repeated ? text : undefined;
    }, 20_000);
    const wantRows = [...rows.slice(0, -1), rows[rows.length - 1] + REPEATED_TYPED + REPEATED_RIGHT];
    check(completed === `${wantRows.join('\n')}\n`, 'Tab inserted it: load_stock reads its file as the others do');

    // Fill a hole marker the engine is sure of: load_stock's body again, with the marker in place
    // of what Tab inserted (Shift+Home selects back to "return").
    const holeRows = [...rows.slice(0, -1), `${rows[rows.length - 1]} ${HOLE_MARKER}`];
    const holed = `${holeRows.join('\n')}\n`;
    await page.keyboard.press('End');
    await page.keyboard.press('Shift+Home');
    await page.keyboard.insertText(`return ${HOLE_MARKER}`);
    await page.keyboard.press('Escape'); // no ghost text over the marker
    await page.keyboard.press('Control+S');
    await waitFor('the saved marker', () => readFileSync(join(workspace, loaders), 'utf8') === holed, 20_000);
    await command(page, 'diffill: Fill Hole Markers');
    await waitFor('the marker to be filled', async () => !(await editor.locator('.view-lines').textContent())
      .includes(HOLE_MARKER), 180_000);
    await page.keyboard.press('Control+S');
    const filled = await waitFor('the saved fill', () => {
      const text = readFileSync(join(workspace, loaders), 'utf8');
      return text !== holed ? text : undefined;
    }, 20_000);
    await shot('07-filled.png');
    check(filled === holed.replace(HOLE_MARKER, HOLE_RIGHT) && filled === completed,
      `Fill Hole Markers filled the marker with the right text ${JSON.stringify(HOLE_RIGHT)}`);
    await openFile(page, editor, FILE, 'def mul'); // back to arith.py for the checks that follow

    // Restart the server: the status bar goes through starting/loading back to ready.
    await command(page, 'diffill: Restart Server');
    await page.locator('[aria-label^="diffill: starting"], [aria-label^="diffill: loading"]').first()
      .waitFor({ timeout: 30_000 });
    await status.first().waitFor({ timeout: 180_000 });
    await shot('08-restarted.png');
    check(true, 'Restart Server restarted the server and it is ready again');

    // Settings reach the running server (workspace/didChangeConfiguration); its warning about a bad
    // value is shown once, even when the next change sends the same bad value again.
    await command(page, 'Notifications: Clear All Notifications');
    const machineSettings = join(userData, 'Machine', 'settings.json'); // code-server watches this file (not User/)
    writeFileSync(machineSettings, JSON.stringify({ ...settings(work), 'diffill.candidates': 99 }, null, 2));
    const warning = page.locator('.notification-toast', { hasText: 'candidates must be between 1 and 8' });
    await warning.first().waitFor({ timeout: 30_000 });
    writeFileSync(machineSettings, JSON.stringify({ ...settings(work), 'diffill.candidates': 99, 'diffill.deadlineMs': 50000 },
      null, 2));
    // A third change with another bad value: its warning is shown, and the client handles the
    // server's messages in order, so by then it has handled the second one too.
    writeFileSync(machineSettings, JSON.stringify({ ...settings(work), 'diffill.sampler.maxSteps': 0 }, null, 2));
    await page.locator('.notification-toast', { hasText: 'maxSteps' }).first().waitFor({ timeout: 30_000 });
    await shot('09-settings-warning.png');
    check(await warning.count() === 1, 'a bad setting sent on change is reported by the server, and shown once');

    // diffill.inline.trigger = "manual": ghost text when asked (Alt+\\, Trigger Inline Suggestion). The
    // same change carries a new bad value: its warning tells that the extension has the change.
    writeFileSync(machineSettings, JSON.stringify({ ...settings(work), 'diffill.inline.trigger': 'manual',
      'diffill.sampler.topP': 5 }, null, 2));
    await page.locator('.notification-toast', { hasText: 'topP' }).first().waitFor({ timeout: 30_000 });
    await page.keyboard.press('Escape');
    // Back to where the first suggestion was shown: the end of "    return a" in mul(), reached by
    // deleting (no typing: nothing to ask about in manual mode anyway).
    const saved = readFileSync(join(workspace, FILE), 'utf8').split('\n');
    const mulLine = saved.findIndex((l) => l.startsWith('def mul')) + 2;
    check(saved[mulLine - 1].startsWith(typedLine), `line ${mulLine} is ${JSON.stringify(saved[mulLine - 1])}`);
    await goTo(page, mulLine, saved[mulLine - 1].length + 1);
    for (let i = typedLine.length; i < saved[mulLine - 1].length; i += 1) await page.keyboard.press('Backspace');
    await cursorAt(page, mulLine, typedLine.length + 1);
    await command(page, 'Trigger Inline Suggestion'); // Alt+\\ in VS Code's default keys
    const asked = await waitFor('ghost text when asked', async () => (await ghost.allTextContents()).join('') || undefined,
      120_000);
    await shot('10-manual-trigger.png');
    check(asked.length > 0, `with trigger "manual", Trigger Inline Suggestion shows ghost text ${JSON.stringify(asked)}`);
    await page.keyboard.press('Escape');

    // A hole the engine is not sure of stays marked (minConfidence 1.0: no fill is that sure): the
    // server says so, and there is no error or "not filled" message.
    writeFileSync(machineSettings, JSON.stringify({ ...settings(work), 'diffill.inline.trigger': 'manual',
      'diffill.minConfidence': 1.0, 'diffill.rewriteStrength': 7 }, null, 2));
    await page.locator('.notification-toast', { hasText: 'rewriteStrength' }).first().waitFor({ timeout: 30_000 });
    await command(page, 'Notifications: Clear All Notifications');
    // The palette hands focus back to the editor in its own time: a Ctrl+End sent too early is
    // lost and the marker lands mid-line. Press it until the cursor is on the (empty) last line.
    const lastLine = new RegExp(`^Ln ${saved.length}, Col 1$`);
    await waitFor('the cursor on the last line', async () => {
      await page.keyboard.press('Control+End');
      return (await page.locator('.statusbar-item', { hasText: lastLine }).count()) > 0 || undefined;
    }, 20_000);
    await page.keyboard.insertText(`x = mul(2, ${HOLE_MARKER})`);
    await page.keyboard.press('Control+S');
    const unsure = await waitFor('the saved unsure marker', () => {
      const text = readFileSync(join(workspace, FILE), 'utf8');
      return text.endsWith(`\nx = mul(2, ${HOLE_MARKER})`) ? text : undefined;
    }, 20_000);
    await command(page, 'diffill: Fill Hole Markers');
    await page.locator('.notification-toast', { hasText: '1 of 1 holes left marked' }).first()
      .waitFor({ timeout: 180_000 });
    // The progress toast stays until the command has answered (after the message and the edit).
    await waitFor('the fill command to answer', async () => await page.locator('.notification-toast',
      { hasText: 'filling 1 hole' }).count() === 0, 60_000);
    await shot('10b-left-marked.png');
    const told = await page.locator('.notification-toast').allTextContents();
    check(told.every((t) => t.includes('holes left marked')),
      `the only message says the hole stayed marked (${JSON.stringify(told)})`);
    check((await editor.locator('.view-lines').textContent()).includes(HOLE_MARKER), 'the marker is still in the editor');
    await page.keyboard.press('Control+S');
    // Read once the save has settled: a file read while VS Code writes it can be caught half-written.
    const kept = await waitFor('the saved file to read as before', () =>
      readFileSync(join(workspace, FILE), 'utf8') === unsure || undefined, 20_000).catch(() => false);
    check(kept, `and the file is unchanged (${JSON.stringify(readFileSync(join(workspace, FILE), 'utf8').slice(-80))})`);

    // A server that cannot start: the status bar shows the error, it is told once, a click shows the log.
    await command(page, 'Notifications: Clear All Notifications');
    const broken = { ...settings(work), 'diffill.server.pythonPath': '', 'diffill.server.path': '/nonexistent/diffill' };
    writeFileSync(join(userData, 'Machine', 'settings.json'), JSON.stringify(broken, null, 2)); // VS Code watches it
    const failed = page.locator('[aria-label^="diffill: error"]').first();
    await failed.waitFor({ timeout: 60_000 });
    await failed.click();
    await page.locator('.panel').getByText('the server did not start').first().waitFor({ timeout: 20_000 });
    await shot('11-error-log.png');
    check(true, 'clicking the status bar item shows the log');
    // Every message of the failed start came before the error state (the log line above is
    // written just before it): count them now.
    const toasts = await page.locator('.notification-toast', { hasText: 'diffill' }).count();
    await shot('12-error.png');
    check(toasts === 1, `the failed start is told once (${toasts} notification)`);
    say('PASS');
  } catch (error) {
    say(`FAIL: ${error.stack ?? error}`);
    await page?.screenshot({ path: join(ARTIFACTS, 'failure.png') }).catch(() => {});
    writeFileSync(join(ARTIFACTS, 'code-server.log'), csLog.join(''));
    process.exitCode = 1;
  } finally {
    await browser?.close().catch(() => {});
    stop();
    if (process.env.KEEP_WORKDIR !== '1') rmSync(work, { recursive: true, force: true });
    else say(`work dir kept: ${work}`);
  }
}

await main();
