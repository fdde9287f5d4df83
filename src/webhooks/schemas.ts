import Type, { type Static } from 'typebox'
import { EVENT_TYPES, type EventType } from '../events/catalogue.ts'

// The public face of a webhook endpoint and of its deliveries. The secret appears only in the
// answers that make one (WebhookWithSecret): never in a GET.

const Time = Type.String({ format: 'date-time' })
const NullableTime = Type.Union([Time, Type.Null()])

const Url = Type.String({
  minLength: 1,
  maxLength: 2048,
  description:
    'https (http only on loopback: 127.0.0.0/8, ::1, localhost; or with WEBHOOK_ALLOW_HTTP=on); no credentials in it',
})

/** One JSON type list, so a wrong type is one error. null or absent: every type. */
const Types = Type.Unsafe<EventType[] | null>({
  type: ['array', 'null'],
  items: Type.Enum([...EVENT_TYPES]),
  minItems: 1,
  maxItems: EVENT_TYPES.length,
  description: 'The event types to deliver; null (or absent) for every type',
})

const Description = Type.Unsafe<string | null>({
  type: ['string', 'null'],
  maxLength: 500,
  description: 'For people; at most 500 characters',
})

export const CreateWebhookBody = Type.Object(
  { url: Url, types: Type.Optional(Types), description: Type.Optional(Description) },
  {
    additionalProperties: false,
    examples: [{ url: 'https://hooks.example.com/usersvc', types: ['user.registered'] }],
  },
)

export const UpdateWebhookBody = Type.Object(
  {
    url: Type.Optional(Url),
    types: Type.Optional(Types),
    description: Type.Optional(Description),
    enabled: Type.Optional(
      Type.Boolean({
        description:
          'false pauses deliveries (they wait); true resumes them and clears disabled_reason',
      }),
    ),
  },
  { additionalProperties: false, examples: [{ enabled: true }] },
)

export const WebhookSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  url: Type.String(),
  description: Type.Union([Type.String(), Type.Null()]),
  types: Type.Union([Type.Array(Type.Enum([...EVENT_TYPES])), Type.Null()], {
    description: 'null: every type',
  }),
  enabled: Type.Boolean(),
  disabled_reason: Type.Union([Type.String(), Type.Null()], {
    description: 'Why the service disabled it itself (the endpoint answered 410 Gone); else null',
  }),
  previous_secret_expires_at: Type.Union([Time, Type.Null()], {
    description: 'After a rotation: until when the previous secret signs beside the new one',
  }),
  created_at: Time,
  updated_at: Time,
})
export type WebhookBody = Static<typeof WebhookSchema>

export const WebhookWithSecret = Type.Object(
  {
    ...WebhookSchema.properties,
    secret: Type.String({
      description:
        'whsec_ + base64 of 32 random bytes (Standard Webhooks): shown in this answer only',
    }),
  },
  { description: 'The endpoint, with its secret: the only time it is shown' },
)

const Cursor = Type.String({
  minLength: 1,
  maxLength: 200,
  description: 'next_cursor of the previous page',
})
const Limit = Type.Integer({ minimum: 1, maximum: 100, default: 20 })
const NextCursor = Type.Union([Type.String(), Type.Null()], {
  description: 'Pass as cursor for the next page; null on the last page',
})

export const ListQuery = Type.Object({ limit: Limit, cursor: Type.Optional(Cursor) })

export const WebhookList = Type.Object({
  items: Type.Array(WebhookSchema),
  next_cursor: NextCursor,
})

export const WebhookParams = Type.Object({
  id: Type.String({ description: 'A webhook id (UUID)' }),
})

export const DeliveryParams = Type.Object({
  id: Type.String({ description: 'A webhook id (UUID)' }),
  delivery_id: Type.String({ description: 'A delivery id (UUID)' }),
})

export const DELIVERY_STATUSES = ['pending', 'delivered', 'failed'] as const
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number]

export const DeliveriesQuery = Type.Object({
  status: Type.Optional(Type.Enum([...DELIVERY_STATUSES])),
  limit: Limit,
  cursor: Type.Optional(Cursor),
})

export const AttemptSchema = Type.Object({
  at: Time,
  status_code: Type.Union([Type.Integer(), Type.Null()], {
    description: "The endpoint's HTTP status; null when none came (see error)",
  }),
  error: Type.Union([Type.String(), Type.Null()], {
    description: 'A network error or timeout; null when the endpoint answered',
  }),
  duration_ms: Type.Integer(),
  response: Type.Union([Type.String(), Type.Null()], {
    description: "The start of the endpoint's answer (at most 256 characters)",
  }),
})
export type Attempt = Static<typeof AttemptSchema>

export const DeliverySchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  webhook_id: Type.String({ format: 'uuid' }),
  event_id: Type.String({ format: 'uuid', description: 'Also the webhook-id header' }),
  event_type: Type.Enum([...EVENT_TYPES]),
  status: Type.Enum([...DELIVERY_STATUSES]),
  attempts: Type.Integer(),
  last_status_code: Type.Union([Type.Integer(), Type.Null()]),
  last_error: Type.Union([Type.String(), Type.Null()]),
  last_attempt_at: NullableTime,
  next_attempt_at: Type.Union([Time, Type.Null()], {
    description: 'When a pending delivery is tried next (null: at once, or not pending)',
  }),
  delivered_at: NullableTime,
  created_at: Time,
  attempt_log: Type.Array(AttemptSchema, { description: 'The latest tries, oldest first' }),
})
export type DeliveryBody = Static<typeof DeliverySchema>

export const DeliveryPage = Type.Object({
  items: Type.Array(DeliverySchema),
  next_cursor: NextCursor,
})
