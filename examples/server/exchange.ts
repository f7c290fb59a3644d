// Your own token route, when createHandoffHandler does not fit: exchange and refresh yourself.
import { exchangeCode, refreshTokens, type TokenSet } from 'extension-sso/server';

const issuer = process.env.OIDC_ISSUER; // e.g. https://login.example
if (!issuer) throw new Error('set OIDC_ISSUER');
const provider = {
  issuer, // its metadata gives the token endpoint, and the keys of the ID Tokens it validates
  clientId: 'my-extension',
  clientSecret: process.env.OIDC_CLIENT_SECRET, // sent with HTTP Basic (clientAuth), never logged
};

export async function tokensForCode(code: string, codeVerifier: string): Promise<TokenSet> {
  return exchangeCode({ ...provider, code, codeVerifier, redirectUri: 'https://my-extension.example/' });
}

export async function renew(tokens: TokenSet): Promise<TokenSet> {
  if (!tokens.refreshToken) throw new Error('the provider issued no refresh token: log in again');
  return refreshTokens({ ...provider, refreshToken: tokens.refreshToken });
}
