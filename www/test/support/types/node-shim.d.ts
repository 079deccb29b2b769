// @types/node is not installed: the one Node module OpenFeature's server typings import, with
// what OpenFeature's `PlatformEventEmitter` asks of it.
declare module 'node:events' {
  type Listener = (...args: any[]) => void;
  export class EventEmitter<T = unknown> {
    protected readonly _eventMap?: T;
    addListener(eventName: string | symbol, listener: Listener): this;
    on(eventName: string | symbol, listener: Listener): this;
    once(eventName: string | symbol, listener: Listener): this;
    removeListener(eventName: string | symbol, listener: Listener): this;
    off(eventName: string | symbol, listener: Listener): this;
    removeAllListeners(event?: string | symbol): this;
    listeners(eventName: string | symbol): Function[];
    emit(eventName: string | symbol, ...args: any[]): boolean;
    listenerCount(eventName: string | symbol, listener?: Function): number;
    eventNames(): Array<string | symbol>;
  }
}
