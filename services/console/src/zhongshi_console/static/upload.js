// Progressive enhancement: upload forms show a progress bar; without this script they post as plain forms.
document.querySelectorAll("form[data-upload]").forEach(function (form) {
  form.addEventListener("submit", function (event) {
    if (!window.XMLHttpRequest || !window.FormData) { return; }
    event.preventDefault();
    var bar = form.querySelector("progress"), request = new XMLHttpRequest();
    bar.hidden = false;
    request.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) { bar.value = Math.round(100 * e.loaded / e.total); }
    });
    request.addEventListener("load", function () {
      if (request.status < 400) { window.location.assign(request.responseURL); return; }
      document.open(); document.write(request.responseText); document.close();  // the refusal, by its field
    });
    request.open("POST", form.action);
    request.send(new FormData(form));
  });
});
