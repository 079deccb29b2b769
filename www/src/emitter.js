// A minimal event emitter: `on(name, fn)` returns the unsubscribe function. Listeners that throw
// are reported to the console and do not stop the others or the client.

export class Emitter {
  #listeners = new Map();

  on(name, listener) {
    if (typeof listener !== 'function') throw new TypeError(`on('${name}', listener): listener must be a function`);
    let set = this.#listeners.get(name);
    if (!set) this.#listeners.set(name, (set = new Set()));
    // A wrapper, so the same function subscribed twice is two subscriptions.
    const entry = (payload) => listener(payload);
    set.add(entry);
    return () => set.delete(entry);
  }

  emit(name, payload) {
    const set = this.#listeners.get(name);
    if (!set) return 0;
    for (const listener of [...set]) {
      try {
        listener(payload);
      } catch (error) {
        console.error(`@vexil/sdk: a '${name}' listener threw`, error);
      }
    }
    return set.size;
  }

  clear() {
    this.#listeners.clear();
  }
}
