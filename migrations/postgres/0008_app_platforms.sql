-- App registrations with several platforms, as in Azure: web, SPA and public-client (mobile and
-- desktop) redirect URIs side by side on one client id. How a request is treated follows the platform
-- of the redirect URI it uses. An app's redirect URIs so far belonged to its type, so they become that
-- platform's: a web or api app's the web list (the column keeps its data under its new name), an spa
-- app's the SPA list, a native app's the public-client list.
ALTER TABLE apps RENAME COLUMN redirect_uris TO web_redirect_uris;
ALTER TABLE apps ADD COLUMN spa_redirect_uris TEXT NOT NULL DEFAULT '[]';
ALTER TABLE apps ADD COLUMN public_client_redirect_uris TEXT NOT NULL DEFAULT '[]';
UPDATE apps SET spa_redirect_uris = web_redirect_uris, web_redirect_uris = '[]' WHERE type = 'spa';
UPDATE apps SET public_client_redirect_uris = web_redirect_uris, web_redirect_uris = '[]' WHERE type = 'native';
