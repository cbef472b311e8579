// The package's root folder (package.json, bin/). Compiled, this file is dist/src/packageRoot.js;
// bundled (scripts/bundle.js), it sits in a file of dist/bundle: two levels below the root either way.
export const PACKAGE_ROOT: URL = new URL("../../", import.meta.url);
