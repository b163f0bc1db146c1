/*
 * The framework adapters import their framework's types only (nothing of it at run time: the app hands them its
 * requests), so an entry loads without its framework installed. What a missing framework costs is its types: an
 * import TypeScript cannot resolve is `any`, silently under `skipLibCheck`, and every key function would take an
 * untyped request. This type turns that into a compile error at the first call, one that names what to install.
 */

/** `Install` when `T` is `any` (the import it comes from did not resolve), else `never`. */
type MissingTypes<T, Install extends string> = 0 extends 1 & T ? Install : never;

/**
 * `Param` when `T`, a type imported from a framework, resolved (TypeScript resolves this at the declaration: a
 * signature shows `Param`); when `T` is `any` (the framework's types are not installed), the string literal type
 * `Install`, a message naming the package: no function is assignable to it, so the call's error quotes it. (The
 * tuples matter: a conditional on an unresolved import's own type is not decided.)
 */
export type RequiresTypes<T, Install extends string, Param> = [MissingTypes<T, Install>] extends [never] ? Param : Install;
