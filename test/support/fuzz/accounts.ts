// The test users a property-based run acts as, made through the service layer.
import type { App } from '../../../src/app.ts'
import { PASSWORD } from '../requests.ts'
import { sessionToken } from '../tokens.ts'

export interface Account {
  login: string
  password: string
  id: string
  role: 'user' | 'admin'
  accessToken: string
}

/**
 * The users a run can act as: `alice` (a user) and `root` (an admin). A request may delete one
 * of them (DELETE /user/me): `restore` brings it back with a new id and token. Made through the
 * service layer, not through POST /session/, so the login throttle never stands in the way.
 */
export class Accounts {
  alice!: Account
  root!: Account
  private readonly app: App
  constructor(app: App) {
    this.app = app
  }

  async init(): Promise<this> {
    this.alice = await this.make('alice', 'user')
    this.root = await this.make('root', 'admin')
    return this
  }

  private async make(login: string, role: 'user' | 'admin'): Promise<Account> {
    const user = await this.app.users.register(login, PASSWORD, role)
    const accessToken = await sessionToken(this.app, user)
    return { login, password: PASSWORD, id: user.id, role, accessToken }
  }

  byId(id: string): Account | undefined {
    return [this.alice, this.root].find((a) => a.id === id)
  }

  /** Re-creates whichever of the two is no longer in the store. */
  async restore(): Promise<void> {
    for (const name of ['alice', 'root'] as const) {
      const account = this[name]
      const row = await this.app.store.db
        .selectFrom('users')
        .select('id')
        .where('id', '=', account.id)
        .executeTakeFirst()
      if (!row) this[name] = await this.make(account.login, account.role)
    }
  }
}
