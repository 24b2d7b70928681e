// Front-channel logout: once every app's logout URL has loaded in its iframe (or after three seconds,
// for an app that does not answer), continue to the post-logout redirect URI. Without JavaScript the
// page's meta refresh does the same a little later.
document.addEventListener('DOMContentLoaded', function () {
  var link = document.getElementById('continue');
  if (!link) return;
  var frames = document.querySelectorAll('iframe.frontchannel-logout');
  var pending = frames.length;
  var done = false;
  function go() {
    if (done) return;
    done = true;
    window.location.replace(link.getAttribute('href'));
  }
  for (var i = 0; i < frames.length; i++) {
    frames[i].addEventListener('load', function () {
      pending -= 1;
      if (pending <= 0) go();
    });
  }
  setTimeout(go, 3000);
});
