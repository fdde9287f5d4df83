// `usersvc import --from-pickle`: a pickle written by Python is read as data only, its fields
// mapped with --field; one that would run code is refused before anything runs or is written.
import assert from 'node:assert/strict'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, test } from 'node:test'
import { cli, showRun } from '../support/cli.ts'
import { makeApp, tempDir } from '../support/harness.ts'
import { assertProblem } from '../support/problems.ts'
import { python } from '../support/python.ts'
import { login } from '../support/requests.ts'

const userCount = async (databaseUrl: string, t: Parameters<typeof makeApp>[0]) => {
  const { app } = await makeApp(t, { databaseUrl })
  return { app, count: (await app.store.db.selectFrom('users').select('id').execute()).length }
}

describe('usersvc import --from-pickle', () => {
  test('a list of dicts with Werkzeug hashes and other key names, mapped with --field', async (t) => {
    const c = await cli(t)
    const file = join(await tempDir(t), 'members.pickle')
    await python(
      `import pickle, datetime
from werkzeug.security import generate_password_hash
members = [
    {"username": "olga", "pw": generate_password_hash("olga's old secret"), "joined": datetime.datetime(2021, 5, 6, 7, 8, 9)},
    {"username": "пётр", "pw": generate_password_hash("пароль петра", method="pbkdf2:sha512"), "joined": datetime.datetime(2022, 1, 1)},
]
with open(data["file"], "wb") as f:
    pickle.dump(members, f, protocol=4)
emit(True)`,
      { file },
    )
    const result = await c.run([
      'import',
      '--from-pickle',
      file,
      '--field',
      'password_hash=pw',
      '--field',
      'registered_at=joined',
    ])
    assert.equal(result.code, 0, showRun(result))
    assert.match(result.stdout, /read 2: imported 2, skipped 0 \(existing\), refused 0/)
    const { app } = await userCount(c.databaseUrl, t)
    const olga = await login(app, 'olga', "olga's old secret")
    assert.equal(olga.statusCode, 200, olga.body)
    assert.equal(olga.json().user.registered_at, '2021-05-06T07:08:09.000Z')
    assertProblem(await login(app, 'пётр', 'пароль петра!'), 401, 'invalid_credentials')
    assert.equal((await login(app, 'пётр', 'пароль петра')).statusCode, 200)
  })

  test('a pickle that would run os.system is refused: exit 1, nothing runs, nothing is written', async (t) => {
    const c = await cli(t)
    const dir = await tempDir(t)
    const file = join(dir, 'evil.pickle')
    const marker = join(dir, 'ran')
    await python(
      `import pickle, os
class Evil:
    def __reduce__(self):
        return (os.system, ("touch " + data["marker"],))
with open(data["file"], "wb") as f:
    pickle.dump({"mallory": {"hash": "x", "salt": "y", "x": Evil()}}, f)
emit(True)`,
      { file, marker },
    )
    const result = await c.run(['import', '--from-pickle', file, '--hash', 'sha256'])
    assert.equal(result.code, 1, showRun(result))
    assert.match(result.stderr, /usersvc: .*(posix|os)\.system/, 'names what it refused')
    assert.equal(existsSync(marker), false, 'nothing ran')
    const { count } = await userCount(c.databaseUrl, t)
    assert.equal(count, 0)
  })

  test('a bad --hash spec or --field name is a usage error, before anything is read', async (t) => {
    const c = await cli(t)
    const file = join(await tempDir(t), 'none.pickle')
    const spec = await c.run(['import', '--from-pickle', file, '--hash', 'rot13:9'])
    assert.equal(spec.code, 2, showRun(spec))
    assert.match(spec.stderr, /rot13/)
    const field = await c.run(['import', '--from-pickle', file, '--field', 'nonsense'])
    assert.equal(field.code, 2, showRun(field))
    assert.match(field.stderr, /--field takes NAME=KEY/)
  })
})
