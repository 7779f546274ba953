import type { Adapters, StorageAdapter } from '../index';
/** Adapters for Node 20+ (fetch, fs, crypto); `dir` holds the phone's storage files. */
export function nodeAdapters(options: { dir: string; fetchImpl?: typeof fetch }): Adapters;
export function nodeFileStorage(dir: string): StorageAdapter;
