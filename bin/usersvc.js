#!/usr/bin/env node
// usersvc runs TypeScript directly, which needs Node.js 24. Inside this repository, npm and npx
// put the pinned Node 24 (the `node` dependency) first on PATH: `npx usersvc …` or `npm run usersvc -- …`.
const major = Number(process.versions.node.split('.')[0])
if (major < 24) {
  console.error(
    `usersvc needs Node.js 24 or newer, but this is ${process.version}.\n` +
      'Run it through npm, which uses the Node 24 pinned in package.json: npx usersvc --help',
  )
  process.exit(1)
}
await import('../src/cli.ts')
