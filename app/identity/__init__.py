"""Real-name verification (实名认证) and 一网通办 single sign-on (OpenID Connect)."""
