// The command line (`usersvc`, `npm start`). runtime.ts first: it sizes libuv's thread pool,
// which must happen before anything uses it.
import './runtime.ts'
import { runCli } from './cli/main.ts'

await runCli(process.argv.slice(2))
