import Type from 'typebox'
import { Uuid } from '../schemas.ts'
import { ACTOR_TYPES, EVENT_TYPES } from './catalogue.ts'

export const EventSchema = Type.Object(
  {
    id: Type.String({ description: 'UUIDv7; the webhook-id and Nats-Msg-Id of its deliveries' }),
    type: Type.Enum([...EVENT_TYPES]),
    occurred_at: Type.String({ format: 'date-time' }),
    actor: Type.Object({
      type: Type.Enum([...ACTOR_TYPES]),
      id: Type.Union([Uuid, Type.Null()]),
    }),
    subject: Type.Union([Type.Object({ user_id: Uuid }), Type.Null()], {
      description: 'The account it is about; null when none',
    }),
    address: Type.Union([Type.String(), Type.Null()]),
    user_agent: Type.Union([Type.String(), Type.Null()]),
    data: Type.Record(Type.String(), Type.Unknown(), {
      description: "What the type needs (see the README's event catalogue); never a secret",
    }),
  },
  {
    examples: [
      {
        id: '0193a9e4-5b7a-7c1e-9f1a-3b2c4d5e6f70',
        type: 'session.created',
        occurred_at: '2026-12-07T10:00:00.000Z',
        actor: { type: 'user', id: '0193a9e4-0000-7000-8000-000000000001' },
        subject: { user_id: '0193a9e4-0000-7000-8000-000000000001' },
        address: '203.0.113.7',
        user_agent: 'Mozilla/5.0',
        data: { session_id: '0193a9e4-5b7a-7c1e-9f1a-3b2c4d5e6f71', amr: ['pwd'], aal: 'aal1' },
      },
    ],
  },
)

const Cursor = Type.String({
  minLength: 1,
  maxLength: 200,
  description: 'next_cursor of the previous page',
})
const Limit = Type.Integer({ minimum: 1, maximum: 100, default: 20 })

export const AuditQuery = Type.Object({
  user_id: Type.Optional(Uuid),
  type: Type.Optional(Type.Enum([...EVENT_TYPES])),
  after: Type.Optional(Type.String({ format: 'date-time', description: 'Strictly after' })),
  before: Type.Optional(Type.String({ format: 'date-time', description: 'Strictly before' })),
  limit: Limit,
  cursor: Type.Optional(Cursor),
})

export const ActivityQuery = Type.Object({ limit: Limit, cursor: Type.Optional(Cursor) })

export const EventPage = Type.Object({
  items: Type.Array(EventSchema),
  next_cursor: Type.Union([Type.String(), Type.Null()], {
    description: 'Pass as cursor for the next page; null on the last page',
  }),
})
