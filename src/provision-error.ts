/** A provisioning rule was broken (bad input, a name taken…): one line for the CLI and the admin API. */
export class ProvisionError extends Error {}
