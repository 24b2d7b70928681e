// Submits the response form of response_mode=form_post as soon as the page loads. Without
// JavaScript the page shows a Continue button instead.
document.addEventListener('DOMContentLoaded', function () {
  var form = document.getElementById('form-post');
  if (form) form.submit();
});
