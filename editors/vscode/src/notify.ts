/** User-facing messages: each error or warning is shown once per session; cancellations are silent. */
import * as vscode from 'vscode';
import { ErrorCodes, LSPErrorCodes, ResponseError } from 'vscode-languageclient/node';

const shown = new Set<string>();
const SHOW_LOG = 'Show Log';

/** True for a request that was cancelled (by the user, a newer keystroke or the server): never shown. */
export function isCancellation(error: unknown): boolean {
  if (error instanceof vscode.CancellationError) {
    return true;
  }
  if (error instanceof ResponseError) {
    return [LSPErrorCodes.RequestCancelled, LSPErrorCodes.ServerCancelled, LSPErrorCodes.ContentModified,
      ErrorCodes.PendingResponseRejected, ErrorCodes.ConnectionInactive].includes(error.code);
  }
  return false;
}

/** An error or warning, once per distinct text, with a button to the log. */
export function showOnce(kind: 'error' | 'warning', message: string, log: vscode.OutputChannel): void {
  if (shown.has(message)) {
    return;
  }
  shown.add(message);
  const show = kind === 'error' ? vscode.window.showErrorMessage : vscode.window.showWarningMessage;
  void show(message, SHOW_LOG).then((choice) => choice === SHOW_LOG && log.show(true));
}

/** A failed request or command: logged always, shown once, nothing at all for a cancellation. */
export function reportFailure(what: string, error: unknown, log: vscode.OutputChannel): void {
  if (isCancellation(error)) {
    return;
  }
  const detail = error instanceof Error ? error.message : String(error);
  log.appendLine(`[error] ${what}: ${detail}`);
  showOnce('error', `diffill: ${what} failed: ${detail}`, log);
}

/** Forget what was shown (after a restart the user should hear about new trouble). */
export function resetShown(): void {
  shown.clear();
}
