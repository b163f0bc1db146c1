/** Keys and group names longer than this (in UTF-16 code units) are stored by their SHA-256 digest. */
export declare const DEFAULT_MAX_KEY_LENGTH = 256;
/** The store id of a cache key; also the tag that `expireKey` expires. */
export declare function keyId(key: string, maxLength?: number): string;
/** The tag of a group name. */
export declare function groupTag(group: string, maxLength?: number): string;
//# sourceMappingURL=keys.d.ts.map