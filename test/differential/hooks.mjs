// hooks.mjs - module loader hooks for @protontech/jsmimeparser under plain
// Node. The package is written for bundlers: its files are ES modules
// without "type": "module" in package.json, and they import each other by
// extensionless relative specifiers ("./utils"). Node resolves neither, so:
// a relative specifier that does not resolve is tried again with ".js",
// and every file of the package is loaded as an ES module.
const PACKAGE = "/@protontech/jsmimeparser/";

export async function resolve(specifier, context, nextResolve) {
    try {
        return await nextResolve(specifier, context);
    } catch (err) {
        if (!specifier.startsWith("./") && !specifier.startsWith("../")) {
            throw err;
        }
        return nextResolve(specifier + ".js", context);
    }
}

export async function load(url, context, nextLoad) {
    if (url.startsWith("file:") && url.includes(PACKAGE)) {
        return nextLoad(url, { ...context, format: "module" });
    }
    return nextLoad(url, context);
}
