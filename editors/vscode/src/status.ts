/** The status bar item, fed by the server's `diffill/status` notifications. */
import * as vscode from 'vscode';

export type State = 'starting' | 'loading' | 'ready' | 'busy' | 'error' | 'stopped';

const LOOK: Record<State, { icon: string; tip: string }> = {
  starting: { icon: '$(loading~spin)', tip: 'starting the server' },
  loading: { icon: '$(loading~spin)', tip: 'loading the model' },
  ready: { icon: '$(check)', tip: 'ready' },
  busy: { icon: '$(sync~spin)', tip: 'computing a suggestion' },
  error: { icon: '$(error)', tip: 'error (click for the log)' },
  stopped: { icon: '$(circle-slash)', tip: 'server stopped (click for the log)' },
};

export class StatusItem implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('diffill.status', vscode.StatusBarAlignment.Right, 100);

  constructor(showLogCommand: string) {
    this.item.name = 'diffill';
    this.item.command = showLogCommand;  // every state: the log says what the server is doing
    this.set('starting');
    this.item.show();
  }

  /** A state from the server (unknown states are shown as they come) or from the client's lifecycle. */
  set(state: State | string, message?: string | null): void {
    const look = LOOK[state as State] ?? { icon: '$(question)', tip: state };
    const detail = message ? `: ${message}` : '';
    this.item.text = `${look.icon} diffill`;
    this.item.tooltip = `diffill: ${look.tip}${detail}`;
    this.item.accessibilityInformation = { label: `diffill: ${state}${detail}` };
    const bad = state === 'error' || state === 'stopped';
    this.item.backgroundColor = bad ? new vscode.ThemeColor('statusBarItem.errorBackground') : undefined;
  }

  dispose(): void {
    this.item.dispose();
  }
}
