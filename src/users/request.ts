import type { FastifyRequest } from 'fastify'
import { AppError } from '../errors.ts'
import type { User } from './repository.ts'

/** The user `authenticate` put on the request. */
export function actor(request: FastifyRequest): User {
  if (!request.actor) throw new AppError('invalid_token')
  return request.actor
}

export async function requireAdmin(request: FastifyRequest): Promise<void> {
  if (actor(request).role !== 'admin') {
    throw new AppError('forbidden', { detail: 'Only an admin may do this.' })
  }
}

export const bearer = [{ bearerAuth: [] }]
