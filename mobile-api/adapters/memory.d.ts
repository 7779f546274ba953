import type { StorageAdapter } from '../index';
export function memoryStorage(initial?: Map<string, string>): StorageAdapter & { data: Map<string, string>; writes: number; failNextSet(count?: number): void };
export function memoryFiles(): { put(path: string, bytes: ArrayLike<number>): void; read(path: string): Promise<Uint8Array> };
