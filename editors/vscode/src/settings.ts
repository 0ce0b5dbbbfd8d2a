/**
 * `diffill.*` settings: the server's own keys (sent as initializationOptions and with
 * workspace/didChangeConfiguration), the client's `diffill.server.*` (how to start it) and
 * `diffill.inline.*` (when to ask for ghost text).
 *
 * Workspace trust: `diffill.server.*`, `modelPath`, `trustRemoteCode`, `logFile` and
 * `acceptanceLog` are machine-scoped in package.json, so `getConfiguration` never returns a value
 * from a workspace's .vscode/settings.json for them (and they are listed as restricted for
 * untrusted workspaces): a cloned repository cannot choose what runs or what is loaded.
 */
import { homedir } from 'node:os';
import * as vscode from 'vscode';
import type { Executable } from 'vscode-languageclient/node';

/** The server's configuration keys, camelCase and the same in every editor (README.md, Configuration). */
const SERVER_KEYS = [
  'modelPath', 'device', 'dtype', 'deadlineMs', 'typingDeadlineMs', 'rewriteDeadlineMs', 'lineBudget',
  'blockBudget', 'sampler', 'candidates', 'enabledLanguages', 'logFile', 'acceptanceLog', 'workspaceIndex',
  'workspaceIndexMaxFiles', 'draftPolicy', 'minConfidence', 'rewriteStrength', 'trustRemoteCode', 'quantization',
] as const;

/** Every server key with its current value (defaults included), so a key reset in the UI resets the server too. */
export function serverSettings(): Record<string, unknown> {
  const config = vscode.workspace.getConfiguration('diffill');
  const settings = Object.fromEntries(SERVER_KEYS.map((key) => [key, config.get(key)]));
  return JSON.parse(JSON.stringify(settings)) as Record<string, unknown>;  // plain JSON, no proxies
}

/** `<pythonPath> -m diffill.lsp.cli serve` when a Python is set, else `<path> serve`; stdio transport. */
export function serverExecutable(): Executable {
  const config = vscode.workspace.getConfiguration('diffill.server');
  const python = home(config.get<string>('pythonPath', '').trim());
  const extra = config.get<string[]>('args', []);
  const env = { ...process.env, ...config.get<Record<string, string>>('env', {}) };
  // No `transport` field: the client would append `--stdio`, which `diffill serve` does not take.
  if (python) {
    return { command: python, args: ['-m', 'diffill.lsp.cli', 'serve', ...extra], options: { env } };
  }
  const command = home(config.get<string>('path', 'diffill').trim()) || 'diffill';
  return { command, args: ['serve', ...extra], options: { env } };
}

/** `~/x` -> the home folder's x (no shell runs the command to expand it). */
function home(path: string): string {
  return path === '~' || path.startsWith('~/') ? homedir() + path.slice(1) : path;
}

export type InlineTrigger = 'automatic' | 'manual';

/** `diffill.inline.*`: when ghost text is asked for (read on every request, so changes apply at once). */
export function inlineSettings(): { trigger: InlineTrigger; debounceMs: number } {
  const config = vscode.workspace.getConfiguration('diffill.inline');
  const trigger = config.get<string>('trigger', 'automatic') === 'manual' ? 'manual' : 'automatic';
  return { trigger, debounceMs: Math.max(0, config.get<number>('debounceMs', 150)) };
}
