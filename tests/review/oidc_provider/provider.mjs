// A real OpenID Connect provider (panva/node-oidc-provider) for the review app's sign-on tests.
// Development interactions: its own login page accepts any login name (and any password); the
// account's Tidlig role and districts come from TIDLIG_TEST_ACCOUNTS (JSON), keyed by login name.
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const accounts = JSON.parse(process.env.TIDLIG_TEST_ACCOUNTS || '{}');

const configuration = {
  clients: [{
    client_id: 'tidlig-review',
    client_secret: process.env.CLIENT_SECRET,
    redirect_uris: [process.env.REDIRECT_URI],
    response_types: ['code'],
    grant_types: ['authorization_code'],
  }],
  pkce: { required: () => true },
  claims: {
    openid: ['sub', 'auth_time'],
    profile: ['preferred_username', 'tidlig_role', 'tidlig_districts'],
  },
  conformIdTokenClaims: false,
  cookies: { keys: ['tidlig-test-cookie-key-0123456789'] },
  findAccount: async (_ctx, id) => ({
    accountId: id,
    claims: async () => ({
      sub: `subject-${id}`,
      preferred_username: id,
      tidlig_role: (accounts[id] || {}).role || 'nurse',
      tidlig_districts: (accounts[id] || {}).districts || ['101-01'],
    }),
  }),
};

const provider = new Provider(`http://127.0.0.1:${port}`, configuration);
provider.listen(port, '127.0.0.1', () => { console.log('ready'); });
