import type { Adapters, StorageAdapter } from '../index';
/** Adapters for a WeChat mini-program; pass the global `wx`. */
export function wxAdapters(wx: any, options?: { storage?: 'kv' | 'files' }): Adapters;
export function wxStorage(wx: any): StorageAdapter;
export function wxFileStorage(wx: any, dir?: string): StorageAdapter;
