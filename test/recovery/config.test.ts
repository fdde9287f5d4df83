import assert from 'node:assert/strict'
import { test } from 'node:test'
import { cli, showRun } from '../support/cli.ts'

test('RECOVERY_CODE_TTL_SECONDS over 24 h stops the service at start-up, naming the variable', async (t) => {
  const usersvc = await cli(t)
  for (const value of ['86401', '604800']) {
    const result = await usersvc.run(['serve'], {
      env: { TLS: 'off', PORT: '0', RECOVERY_CODE_TTL_SECONDS: value },
    })
    assert.notEqual(result.code, 0, showRun(result))
    assert.match(result.stderr, /RECOVERY_CODE_TTL_SECONDS: must be <= 86400/, showRun(result))
    assert.doesNotMatch(result.stderr, /listening/, showRun(result))
  }
})
