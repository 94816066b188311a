import { ApiClient, ApiError, ClientPatch } from '../../client';
import { CommandSpec, PROGRAM, requiredOption, stringOption } from '../args';
import { requireUuid } from '../context';
import { usageError } from '../errors';
import { clip, printable, table } from '../output';
import { readToken, TOKEN_OPTIONS } from '../token';

/** The API's field names in validation messages, as the flags that set them. */
const FLAG_OF_FIELD: Record<string, string> = {
  'body.name': '--name',
  'body.facebookPageId': '--page-id',
  'body.instagramAccountId': '--instagram-id',
  'body.timezone': '--timezone',
  'body.accessToken': 'the token',
};

/** Says which flag a validation error is about. */
async function withFlagNames<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    if (err instanceof ApiError && err.code === 'validation_failed') {
      const message = err.message.replace(/body\.\w+/g, (field) => FLAG_OF_FIELD[field] ?? field);
      throw new ApiError(err.status, err.code, message, err.retryAfterSeconds, err.details);
    }
    throw err;
  }
}

function tokenText(client: ApiClient): string {
  if (!client.hasToken) return 'none';
  return client.tokenStatus === 'invalid' && client.tokenError
    ? `invalid (${clip(client.tokenError, 50)})`
    : client.tokenStatus;
}

/** What the operator should do about Instagram, beside its state. */
const INSTAGRAM_ACTION: Partial<Record<ApiClient['instagramStatus'], string>> = {
  permission_missing: 'permission_missing (grant instagram_manage_insights, then replace the token)',
  not_linked: 'not_linked (link the Instagram business account to the Page, or fix --instagram-id)',
  throttled: 'throttled (Meta asked to wait; retried after its estimate)',
  error: 'error (see the refresh results)',
};

/** What the operator should do about the Page, beside its state. */
const FACEBOOK_ACTION: Partial<Record<ApiClient['facebookStatus'], string>> = {
  permission_missing: 'permission_missing (grant pages_read_engagement and read_insights, then replace the token)',
  not_accessible: 'not_accessible (the Page is gone or the token lost it: fix --page-id or replace the token)',
  throttled: 'throttled (Meta asked to wait; asked again after its estimate)',
  error: 'error (see the refresh results)',
};

function facebookText(client: ApiClient): string {
  return FACEBOOK_ACTION[client.facebookStatus] ?? client.facebookStatus;
}

function instagramText(client: ApiClient): string {
  if (!client.instagramAccountId) return 'none';
  return INSTAGRAM_ACTION[client.instagramStatus] ?? client.instagramStatus;
}

function describe(client: ApiClient): string[] {
  return [
    `id:            ${client.id}`,
    `name:          ${printable(client.name)}`,
    `facebook page: ${client.facebookPageId}`,
    `instagram id:  ${client.instagramAccountId ?? '(none)'}`,
    `timezone:      ${client.timezone}`,
    `token:         ${tokenText(client)}`,
    `facebook:      ${facebookText(client)}`,
    `instagram:     ${instagramText(client)}`,
  ];
}

const clientOptions = {
  name: { type: 'string', value: 'NAME', description: "the client's name as the dashboard shows it" },
  'page-id': { type: 'string', value: 'ID', description: 'numeric id of the Facebook Page' },
  'instagram-id': { type: 'string', value: 'ID', description: 'numeric id of the Instagram business account' },
  timezone: { type: 'string', value: 'TZ', description: "IANA timezone of the client's days, e.g. Europe/Warsaw" },
} as const;

const list: CommandSpec = {
  words: ['clients', 'list'],
  summary: 'List the clients and the state of their Meta tokens',
  async run(ctx) {
    const { data } = await ctx.api().listClients();
    ctx.out.result(data, () =>
      data.length
        ? table(
            ['ID', 'NAME', 'PAGE', 'INSTAGRAM', 'TIMEZONE', 'TOKEN', 'IG STATUS'],
            data.map((c) => [
              c.id,
              c.name,
              c.facebookPageId,
              c.instagramAccountId ?? '-',
              c.timezone,
              tokenText(c),
              c.instagramAccountId ? c.instagramStatus : '-',
            ]),
          )
        : `No clients yet; add one with \`${PROGRAM} clients add --help\`.`,
    );
  },
};

const show: CommandSpec = {
  words: ['clients', 'show'],
  positionals: ['ID'],
  summary: 'Show one client',
  async run(ctx, { positionals }) {
    const id = requireUuid(positionals[0]);
    const { data } = await ctx.api().getClient(id);
    ctx.out.result(data, () => describe(data));
  },
};

const add: CommandSpec = {
  words: ['clients', 'add'],
  synopsis: '--name NAME --page-id ID [--instagram-id ID] [--timezone TZ] (--token-stdin | --token-env VAR)',
  summary: 'Add a client with its Meta access token (stored encrypted, never shown again)',
  details: [
    'The token is read from stdin or from an env variable, never from the command line, and never printed.',
    `Example: printenv ACME_META_TOKEN | ${PROGRAM} clients add --name Acme --page-id 1234567890 --instagram-id 17841400000000 --token-stdin`,
  ],
  options: { ...clientOptions, ...TOKEN_OPTIONS },
  async run(ctx, { values }) {
    const name = requiredOption(values, 'name', add);
    const facebookPageId = requiredOption(values, 'page-id', add);
    const accessToken = await readToken(ctx.io, values);
    if (!accessToken)
      throw usageError(
        'a Meta token is required: --token-stdin or --token-env VAR',
        `run \`${PROGRAM} clients add --help\``,
      );
    const instagramAccountId = stringOption(values, 'instagram-id');
    const timezone = stringOption(values, 'timezone');
    const { data } = await withFlagNames(
      ctx.api().addClient({
        name,
        facebookPageId,
        accessToken,
        ...(instagramAccountId ? { instagramAccountId } : {}),
        ...(timezone ? { timezone } : {}),
      }),
    );
    ctx.out.result(data, [
      `Added client ${printable(data.name)} (${data.id}); its token is stored encrypted.`,
      `Fetch its numbers now: ${PROGRAM} refresh --client ${data.id} --wait`,
    ]);
  },
};

const update: CommandSpec = {
  words: ['clients', 'update'],
  positionals: ['ID'],
  synopsis:
    '[--name NAME] [--page-id ID] [--instagram-id ID | --no-instagram] [--timezone TZ] [--token-stdin | --token-env VAR]',
  summary: "Change a client; a new token resets the token's status",
  options: {
    ...clientOptions,
    'no-instagram': { type: 'boolean', description: 'unlink the Instagram account' },
    ...TOKEN_OPTIONS,
  },
  async run(ctx, { positionals, values }) {
    const id = requireUuid(positionals[0]);
    const instagramAccountId = stringOption(values, 'instagram-id');
    if (instagramAccountId !== undefined && values['no-instagram'])
      throw usageError('give --instagram-id or --no-instagram, not both');
    const patch: ClientPatch = {};
    const name = stringOption(values, 'name');
    const facebookPageId = stringOption(values, 'page-id');
    const timezone = stringOption(values, 'timezone');
    if (name !== undefined) patch.name = name;
    if (facebookPageId !== undefined) patch.facebookPageId = facebookPageId;
    if (instagramAccountId !== undefined) patch.instagramAccountId = instagramAccountId;
    if (values['no-instagram']) patch.instagramAccountId = null;
    if (timezone !== undefined) patch.timezone = timezone;
    const accessToken = await readToken(ctx.io, values);
    if (accessToken !== undefined) patch.accessToken = accessToken;
    if (!Object.keys(patch).length)
      throw usageError('nothing to change', `run \`${PROGRAM} clients update --help\` for what can be changed`);
    const { data } = await withFlagNames(ctx.api().updateClient(id, patch));
    ctx.out.result(data, [
      `Updated client ${printable(data.name)} (${data.id}).`,
      ...(accessToken ? ['Its new token is stored encrypted; its status is unknown until the next refresh.'] : []),
    ]);
  },
};

const remove: CommandSpec = {
  words: ['clients', 'remove'],
  positionals: ['ID'],
  summary: 'Remove a client and its cached numbers',
  async run(ctx, { positionals }) {
    const id = requireUuid(positionals[0]);
    const { data } = await ctx.api().removeClient(id);
    ctx.out.result(data, `Removed client ${data.id} and its cached numbers.`);
  },
};

export const clientCommands = [list, show, add, update, remove];
