export interface Mail {
  to: string
  subject: string
  text: string
  html: string
}

/** Where mail goes: an SMTP server, or files for a developer to read. */
export interface Transport {
  send(mail: Mail): Promise<void>
  close(): void
}

/** What nodemailer is given for a mail, whichever the transport. */
export function message(mail: Mail, from: string) {
  return {
    from,
    ...mail,
    // RFC 3834: written by a machine; vacation responders and the like do not answer it.
    headers: { 'Auto-Submitted': 'auto-generated' },
    // Nothing in a mail is ever a path or a URL to fetch; nodemailer must not try.
    disableFileAccess: true,
    disableUrlAccess: true,
  }
}

/** `alice@example.com` → `a***@example.com`: enough to tell messages apart, not to harvest. */
export function maskAddress(address: string): string {
  const at = address.lastIndexOf('@')
  if (at < 1) return '***'
  return `${address.slice(0, 1)}***${address.slice(at)}`
}
