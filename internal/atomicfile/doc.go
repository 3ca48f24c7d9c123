// Package atomicfile writes a file so that a reader sees either the old content or the complete
// new content, never a half-written file.
//
// # Invariants
//
//   - The data goes to a temporary file in the destination's own folder (so the final rename never
//     crosses file systems), named "." + base + ".tmp*", which is synced to disk and then renamed
//     over the destination; the folder is synced afterwards where the platform allows.
//   - The file ends up with exactly the permission bits given (set with chmod, not subject to the
//     umask).
//   - On any error the temporary file is removed and the destination is untouched.
//   - Errors are returned as they come from the os package (they name the path involved); callers
//     add their own package prefix.
package atomicfile
