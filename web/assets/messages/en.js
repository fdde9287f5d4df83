/**
 * English messages: the reference catalogue. Every other language has exactly these keys
 * (ru.js is type-checked against this file). `{name}` is replaced by a parameter; an object
 * is a plural message chosen by `count` (Intl.PluralRules).
 *
 * @typedef {string | (Partial<Record<Intl.LDMLPluralRule, string>> & { other: string })} Message
 */

/** @satisfies {Record<string, Message>} */
const en = {
  'app.name': 'usersvc',
  skip: 'Skip to content',
  'lang.label': 'Language',
  'nav.label': 'Main',
  'nav.signin': 'Sign in',
  'nav.signup': 'Create account',
  'nav.account': 'Your account',
  'nav.users': 'Users',
  'footer.docs': 'API documentation',
  loading: 'Loading…',
  'show.password': 'Show password',

  'field.login': 'Login',
  'field.password': 'Password',
  'field.current_password': 'Current password',
  'field.new_password': 'New password',

  'signin.title': 'Sign in',
  'signin.legend': 'Your login and password',
  'signin.submit': 'Sign in',
  'signin.noAccount': 'No account yet?',
  'signin.toSignup': 'Create one',

  'signup.title': 'Create an account',
  'signup.legend': 'Choose a login and a password',
  'signup.loginHint':
    '3 to 64 letters or digits (any alphabet) and . _ - @ +, starting with a letter or digit. Upper and lower case count as the same login.',
  'signup.submit': 'Create account',
  'signup.haveAccount': 'Already have an account?',
  'signup.toSignin': 'Sign in',

  'policy.title': 'Password rules:',
  'policy.minLength': {
    one: 'at least {count} character: any characters, spaces and emoji too',
    other: 'at least {count} characters: any characters, spaces and emoji too',
  },
  'policy.maxLength': { one: 'at most {count} character', other: 'at most {count} characters' },
  'policy.common':
    'not one of the commonly used passwords: the service checks its list when you submit',
  'policy.login': 'must not contain your login',
  'policy.met': '(met)',
  'policy.unmet': '(not met)',
  'policy.count': '(so far: {count})',
  'policy.unavailable':
    'The password rules could not be loaded; the service checks the password when you submit it.',
  'strength.label': 'Strength (only a rough hint estimated in your browser):',
  'strength.empty': 'nothing typed yet',
  'strength.0': 'very weak',
  'strength.1': 'weak',
  'strength.2': 'fair',
  'strength.3': 'good',
  'strength.4': 'strong',

  'account.title': 'Your account',
  'account.details': 'Account details',
  'account.login': 'Login',
  'account.id': 'Id',
  'account.role': 'Role',
  'account.registered': 'Registered',
  'role.user': 'user',
  'role.admin': 'administrator',
  'password.title': 'Change password',
  'password.legend': 'Your current and your new password',
  'password.note':
    'Changing the password ends all sessions of this account on every device; this page signs in again with the new password.',
  'password.submit': 'Change password',
  'sessions.title': 'Sessions',
  'sessions.note': 'Log out of this browser, or end every session of this account on all devices.',
  'sessions.logout': 'Log out',
  'sessions.logoutAll': 'Log out everywhere',
  'delete.title': 'Delete account',
  'delete.legend': 'Confirm with your password',
  'delete.note':
    'This deletes your account and ends all its sessions. It cannot be undone. Enter your password to confirm.',
  'delete.submit': 'Delete my account',

  'users.title': 'Users',
  'users.pageSize': 'Users per page',
  'users.caption': 'Users in registration order, page {page}',
  'users.col.login': 'Login',
  'users.col.id': 'Id',
  'users.col.role': 'Role',
  'users.col.registered': 'Registered',
  'users.col.actions': 'Actions',
  'users.you': '(you)',
  'users.delete': 'Delete',
  'users.deleteLabel': 'Delete user {login}',
  'users.confirm': 'Delete {login}? This cannot be undone.',
  'users.confirmYes': 'Yes, delete',
  'users.confirmYesLabel': 'Yes, delete {login}',
  'users.confirmNo': 'Cancel',
  'users.pagination': 'Pages of the user list',
  'users.first': 'First page',
  'users.prev': 'Previous page',
  'users.next': 'Next page',
  'users.empty': 'No users on this page.',
  'users.forbidden': 'Only administrators can see the list of users.',
  'users.ownAccount': 'Delete on your account page',

  'status.signedIn': 'You are signed in as {login}.',
  'status.signedUp': 'The account {login} was created, and you are signed in.',
  'status.passwordChanged': 'Password changed. Every other session of this account was ended.',
  'status.loggedOut': 'You are logged out.',
  'status.loggedOutAll': 'You are logged out on every device.',
  'status.deleted': 'Your account was deleted.',
  'status.userDeleted': 'The user {login} was deleted.',
  'status.sessionEnded': 'Your session has ended. Please sign in again.',

  'problem.bad_request':
    'The service did not understand the request. Reload the page and try again.',
  'problem.malformed_json': 'The page sent a malformed request. Reload the page and try again.',
  'problem.invalid_credentials': 'Wrong login or password.',
  'problem.invalid_credentials.current': 'This is not your current password.',
  'problem.invalid_credentials.confirm': 'The password is wrong.',
  'problem.invalid_token': 'Your session has ended. Please sign in again.',
  'problem.invalid_refresh_token': 'Your session has ended. Please sign in again.',
  'problem.forbidden': 'You are not allowed to do this.',
  'problem.not_found': 'Not found: it may have been deleted already.',
  'problem.method_not_allowed': 'The service does not support this action. Reload the page.',
  'problem.request_timeout': 'The request took too long to arrive. Try again.',
  'problem.login_taken': 'This login is already taken. Choose another one.',
  'problem.email_taken': 'This email address is already in use by another account.',
  'problem.invalid_code': 'The code is wrong, expired or already used. Ask for a new one.',
  'problem.payload_too_large': 'What you entered is too long.',
  'problem.unsupported_media_type':
    'The page sent a request the service does not accept. Reload the page.',
  'problem.validation_failed': 'Some of the values are not valid.',
  'problem.password_policy': 'The password does not meet the rules.',
  'problem.rate_limited': {
    one: 'Too many attempts. Try again in {count} second.',
    other: 'Too many attempts. Try again in {count} seconds.',
  },
  'problem.rate_limited.later': 'Too many attempts. Try again later.',
  'problem.headers_too_large':
    'The page sent a request that is too large. Reload the page; if it happens again, clear the cookies of this site.',
  'problem.internal':
    'Something went wrong in the service. Try again; if it keeps happening, tell its administrators.',
  'problem.unavailable': 'The service is temporarily unavailable. Try again in a moment.',
  'problem.overloaded': 'The service is busy right now. Try again in a moment.',
  'problem.network': 'The service cannot be reached. Check your connection and try again.',
  'problem.unknown': 'Something went wrong (HTTP {status}).',

  'error.login.required': 'Enter a login.',
  'error.login.too_short': 'A login has 3 to 64 characters.',
  'error.login.too_long': 'A login has 3 to 64 characters.',
  'error.login.invalid_format':
    'Use only letters, digits and . _ - @ +, starting with a letter or digit (no spaces).',
  'error.password.required': 'Enter the password.',
  'error.password.too_short': {
    one: 'Too short: use at least {count} character.',
    other: 'Too short: use at least {count} characters.',
  },
  'error.password.too_long': {
    one: 'Too long: use at most {count} character.',
    other: 'Too long: use at most {count} characters.',
  },
  'error.password.common_password':
    'This password is too common: it is on the list of passwords attackers try first. Choose another one.',
  'error.password.contains_login': 'The password must not contain your login.',
  'error.password.invalid_characters': 'The password must not contain control characters.',
  'error.cursor.invalid_format': 'This page of the list is no longer valid. Go to the first page.',
  'error.required': 'This field is required.',
  'error.invalid_type': 'This value has the wrong type.',
  'error.too_short': 'This value is too short.',
  'error.too_long': 'This value is too long.',
  'error.invalid_format': 'This value has the wrong format.',
  'error.out_of_range': 'This value is out of range.',
  'error.invalid_value': 'This value is not allowed.',
  'error.unknown_property': 'The page sent a field the service does not know. Reload the page.',
  'error.invalid_characters': 'This value must not contain control characters.',
  'error.common_password': 'This is a commonly used password. Choose another.',
  'error.contains_login': 'This value must not contain your login.',
  'error.other': 'This value is not accepted: {message}.',
}

export default en
