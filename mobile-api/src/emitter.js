'use strict';
/** A minimal event emitter: mini-programs have no Node `events` module. */

class Emitter {
  constructor() {
    this._listeners = new Map();
  }

  /** Subscribe; returns a function that unsubscribes. */
  on(name, listener) {
    if (!this._listeners.has(name)) this._listeners.set(name, new Set());
    this._listeners.get(name).add(listener);
    return () => this.off(name, listener);
  }

  off(name, listener) {
    const set = this._listeners.get(name);
    if (set) set.delete(listener);
  }

  /** A listener that throws must not break sync: its error is re-emitted as 'listenerError'. */
  emit(name, payload) {
    const set = this._listeners.get(name);
    if (!set) return;
    for (const listener of [...set]) {
      try {
        listener(payload);
      } catch (error) {
        if (name !== 'listenerError') this.emit('listenerError', { event: name, error });
      }
    }
  }
}

module.exports = { Emitter };
