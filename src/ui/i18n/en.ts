/**
 * Every string Latchkey shows a person (pages, page errors, e-mails), in English: the reference
 * catalogue. Keys are stable (policies override them in `ui.strings`); `{name}` marks a value filled in
 * at run time. The wording follows B2C's where B2C has a page for it, so users and support documents
 * recognise it. Errors sent to applications (`error_description`) are protocol text and stay English.
 */
export const en = {
  'page.signInTitle': 'Sign in to {tenant}',
  'label.email': 'Email Address',
  'label.username': 'Username',
  'label.password': 'Password',
  'label.newPassword': 'New Password',
  'label.confirmPassword': 'Confirm New Password',
  'label.code': 'Verification code',
  'label.selectOption': 'Select…',
  'button.signIn': 'Sign in',
  'button.cancel': 'Cancel',
  'button.continue': 'Continue',
  'button.create': 'Create',
  'button.sendCode': 'Send verification code',
  'button.verifyCode': 'Verify code',
  'button.resendCode': 'Send new code',
  'button.changeEmail': 'Change e-mail',
  'button.link': 'Link account',
  'button.emailCode': 'Email me a code instead',

  'signIn.socialIntro': 'Sign in with your social account',
  'signIn.divider': 'OR',
  'signIn.emailIntro': 'Sign in with your email address',
  'signIn.usernameIntro': 'Sign in with your username',
  'signIn.keepMeSignedIn': 'Keep me signed in',
  'signIn.forgotPassword': 'Forgot your password?',
  'signIn.noAccount': "Don't have an account?",
  'signIn.signUpNow': 'Sign up now',
  'signIn.chooseProvider': 'Please choose how to sign in.',

  'error.enterEmail': 'Please enter your Email Address.',
  'error.enterUsername': 'Please enter your Username.',
  'error.invalidEmail': 'Please enter a valid email address.',
  'error.enterPassword': 'Please enter your password.',
  'error.invalidCredentials': 'Invalid username or password.',
  'error.invalidPassword': 'Invalid password.',
  'error.locked': 'Your account is temporarily locked to prevent unauthorized use. Try again later.',
  'error.legacyUnavailable': "We can't check your password right now. Please try again in a few minutes.",
  'error.legacyBusy': 'Too many people are signing in right now. Please try again in a moment.',
  'error.userExists': 'A user with the specified ID already exists. Please choose a different one.',
  'error.attributeRequired': 'Please enter your {label}.',
  'error.attributeTooLong': '{label} must be at most {max} characters.',
  'error.attributeOption': 'Please choose one of the options for {label}.',
  'error.passwordMissing': 'Please enter your new password.',
  'error.passwordTooShort': 'The password must be at least {min} characters long.',
  'error.passwordTooLong': 'The password must be at most {max} characters long.',
  'error.passwordMismatch': 'The password entry fields do not match. Please enter the same password in both fields and try again.',
  'error.serviceUnavailable': 'We could not complete this step right now. Please try again in a few minutes.',

  'federation.unavailable': '{provider} cannot be reached right now. Try again, or sign in another way.',
  'federation.timeout': '{provider} did not answer within {seconds} seconds. Try again, or sign in another way.',
  'federation.failed': 'Signing in with {provider} did not work. Try again, or sign in another way.',

  'signUp.heading': 'Create your account',
  'signUp.verifyIntro': 'Enter your email address; we will send you a code to verify it.',
  'signUp.federatedIntro': 'You are signing in with {provider} for the first time. Please check your details.',

  'code.headingSignUp': 'Verify your email address',
  'code.headingReset': 'Verify your email address to reset your password',
  'code.sent': 'Verification code has been sent to your inbox. Please copy it to the input box below.',
  'code.resent': 'A new verification code has been sent to your inbox.',
  'code.format': 'Please enter the 6-digit verification code.',
  'code.tooManyAttempts': "You've made too many incorrect attempts. Please request a new code.",
  'code.expired': 'That code has expired. Please request a new code.',
  'code.wrong': 'The verification code you have entered does not match our records. Please try again, or request a new code.',
  'code.tooManySends': 'You have asked for too many codes. Please start again later.',

  'reset.heading': 'Reset your password',
  'reset.intro': 'Enter the email address of your account; we will send you a verification code.',
  'reset.newPasswordHeading': 'Choose a new password',

  'profile.heading': 'Edit your profile',

  'link.heading': 'Link your {provider} account',
  'link.intro': 'An account for {address} already exists. To sign in to it with {provider} from now on, prove that it is yours.',
  'link.noAddress': 'This account has no email address to send a code to.',

  'errorPage.title': 'Error',
  'errorPage.heading': "Sorry, we can't complete your request",
  'errorPage.correlationId': 'Correlation ID: {id}',
  'blockPage.closeWindow': 'You can close this window.',
  'signedOut.title': 'Signed out',
  'signedOut.heading': 'You have signed out',
  'signedOut.closeWindow': 'You can close this window.',
  'signedOut.continue': 'Continue',
  'signedOut.frameTitle': 'Signing out of application {n}',
  'formPost.title': 'Continue',
  'formPost.heading': 'Continue to the application',
  'formPost.noScript': 'JavaScript is off: press Continue to return to the application.',
  'formPost.continue': 'Continue',

  'mail.codeSubject': '{tenant} account email verification code',
  'mail.codeBody': 'Thanks for verifying your {address} account!\n\nYour code is: {code}\n\nIt expires in {minutes} minutes.\n',
} as const;

export type MessageKey = keyof typeof en;
/** A catalogue: every key of the English one (the compiler checks that none is missing). */
export type Catalogue = Record<MessageKey, string>;
