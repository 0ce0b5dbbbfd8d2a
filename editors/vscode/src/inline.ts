/**
 * When ghost text is asked for (`diffill.inline.trigger`, `diffill.inline.debounceMs`), as
 * middleware around the language client's `textDocument/inlineCompletion`.
 *
 * automatic: VS Code asks on every keystroke and cancels the previous request; waiting
 * `debounceMs` first means a burst of keys reaches the server once. manual: only an invoked
 * request (Trigger Inline Suggestion, Alt+\, Alt+] / Alt+[) reaches the server; while the user
 * types or partially accepts what is shown, the rest of it is served from here.
 */
import * as vscode from 'vscode';
import { inlineSettings } from './settings';

type Answer = vscode.InlineCompletionItem[] | vscode.InlineCompletionList | null | undefined;
/** The language client's own provider (the `next` of its middleware). */
type Next = (document: vscode.TextDocument, position: vscode.Position, context: vscode.InlineCompletionContext,
  token: vscode.CancellationToken) => vscode.ProviderResult<vscode.InlineCompletionItem[] | vscode.InlineCompletionList>;

/** The first suggestion last shown: where, the line before it then, its text and command. */
interface Shown { uri: string; anchor: vscode.Position; lineBefore: string; text: string; command?: vscode.Command }

/** Resolves true after ms, false as soon as the request is cancelled (a newer keystroke). */
function settle(ms: number, token: vscode.CancellationToken): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      sub.dispose();
      resolve(!token.isCancellationRequested);
    }, ms);
    const sub = token.onCancellationRequested(() => {
      clearTimeout(timer);
      sub.dispose();
      resolve(false);
    });
  });
}

export class InlineTrigger {
  private shown: Shown | undefined;

  readonly provide = async (
    document: vscode.TextDocument, position: vscode.Position, context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken, next: Next,
  ): Promise<Answer> => {
    const { trigger, debounceMs } = inlineSettings();
    const automatic = context.triggerKind === vscode.InlineCompletionTriggerKind.Automatic;
    if (automatic && trigger === 'manual') {
      return this.rest(document, position);
    }
    if (automatic && debounceMs > 0 && !await settle(debounceMs, token)) {
      return null;
    }
    const answer = await next(document, position, context, token);
    this.remember(document, position, answer);
    return answer;
  };

  private remember(document: vscode.TextDocument, position: vscode.Position, answer: Answer): void {
    const first = Array.isArray(answer) ? answer[0] : answer?.items[0];
    const text = first && typeof first.insertText === 'string' ? first.insertText : undefined;
    this.shown = text ? {
      uri: document.uri.toString(), anchor: position, text,
      lineBefore: document.lineAt(position.line).text.slice(0, position.character),
      ...(first?.command ? { command: first.command } : {}),
    } : undefined;
  }

  /** What is left of the last suggestion when the text typed since it was shown begins it. */
  private rest(document: vscode.TextDocument, position: vscode.Position): vscode.InlineCompletionItem[] | null {
    const s = this.shown;
    if (!s || s.uri !== document.uri.toString() || position.isBefore(s.anchor)
      || document.lineAt(s.anchor.line).text.slice(0, s.anchor.character) !== s.lineBefore) {
      return null;
    }
    const typed = document.getText(new vscode.Range(s.anchor, position)).replace(/\r\n/g, '\n');
    if (typed.length >= s.text.length || !s.text.startsWith(typed)) {
      return null;
    }
    const item = new vscode.InlineCompletionItem(s.text.slice(typed.length), new vscode.Range(position, position));
    if (s.command) {
      item.command = s.command;
    }
    return [item];
  }
}
