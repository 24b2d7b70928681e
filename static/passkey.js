// Passkey ceremonies of the hosted pages (WebAuthn needs JavaScript; everything else works without).
// A [data-passkey] block holds the WebAuthn options the server made; the result is posted in the
// block's form, with the block's action, like any other button of the page.
(function () {
  'use strict';
  var lib = window.SimpleWebAuthnBrowser;
  if (!lib || !lib.browserSupportsWebAuthn()) return;

  function submit(block, result) {
    var form = block.closest('form');
    block.querySelector('input[name=passkey]').value = JSON.stringify(result);
    var action = document.createElement('input');
    action.type = 'hidden';
    action.name = 'action';
    action.value = block.getAttribute('data-action');
    form.appendChild(action);
    // Other submit buttons are named "action" too; without a submitter only this field is posted.
    form.submit();
  }

  function failed(block) {
    var error = block.querySelector('[data-passkey-error]');
    if (error) error.hidden = false;
  }

  document.querySelectorAll('[data-passkey]').forEach(function (block) {
    var mode = block.getAttribute('data-passkey');
    var options = JSON.parse(block.getAttribute('data-options'));
    if (block.getAttribute('data-autofill') === 'true') {
      // Conditional UI: the browser offers its passkeys in the sign-in name's suggestions. Pressing
      // the button below aborts this request (the library does) and starts a modal one.
      lib.browserSupportsWebAuthnAutofill().then(function (yes) {
        if (!yes) return;
        lib.startAuthentication({ optionsJSON: options, useBrowserAutofill: true }).then(function (r) { submit(block, r); }, function () {});
      });
    }
    var button = block.querySelector('button');
    button.hidden = false;
    button.addEventListener('click', function () {
      var ceremony = mode === 'create' ? lib.startRegistration({ optionsJSON: options }) : lib.startAuthentication({ optionsJSON: options });
      ceremony.then(function (r) { submit(block, r); }, function () { failed(block); });
    });
  });
})();
