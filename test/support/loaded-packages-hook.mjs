// The resolution hook of test/support/loaded-packages-report.mjs: runs on node's loader thread and
// posts the name of every npm package a module is resolved in.
let port;

export function initialize(data) {
  port = data.port;
}

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  const inPackage = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(resolved.url);
  if (inPackage) port.postMessage(inPackage[1]);
  return resolved;
}
