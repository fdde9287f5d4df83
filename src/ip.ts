import { isIP } from 'node:net'

/**
 * The eight groups of an IPv6 address, `::` expanded and leading zeros dropped, as Node prints
 * them (0:0:0:0:0:0:0:1). Undefined for anything that is not IPv6.
 */
export function ipv6Groups(address: string): string[] | undefined {
  if (isIP(address) !== 6) return undefined
  const [head = '', tail = ''] = address.split('::')
  const left = head ? head.split(':') : []
  const right = tail ? tail.split(':') : []
  const groups = address.includes('::')
    ? [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right]
    : left
  return groups.map((group) => group.toLowerCase().replace(/^0+(?=.)/, ''))
}
