// Dataset page: drag-and-drop upload with one line per file, captions saved where they are typed.
"use strict";
(function () {
  const zone = document.getElementById("dropzone");
  const input = document.getElementById("file-input");
  const results = document.getElementById("upload-results");

  function line(text, kind) {
    const li = document.createElement("li");
    li.className = kind;
    li.textContent = text;
    results.appendChild(li);
  }

  async function upload(files) {
    if (!files.length) return;
    const form = new FormData();
    for (const file of files) form.append("image", file, file.name);
    results.textContent = "";
    line("Uploading " + files.length + " file(s)…", "pending");
    const response = await window.lorabotFetch(zone.dataset.url, { method: "POST", body: form });
    const body = await response.json();
    results.textContent = "";
    if (!response.ok) {
      line("Refused: " + body.error.message, "refused");
      return;
    }
    for (const added of body.added) line(added.filename + ": added (" + added.width + "×" + added.height + ")", "added");
    for (const refused of body.refused) line(refused.filename + ": refused — " + refused.message + " [" + refused.code + "]", "refused");
    if (body.added.length) line("Reload the page to see the new thumbnails.", "hint");
  }

  if (zone) {
    zone.addEventListener("dragover", function (event) { event.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      zone.classList.remove("over");
      upload(Array.from(event.dataTransfer.files));
    });
    input.addEventListener("change", function () { upload(Array.from(input.files)); input.value = ""; });
  }

  for (const field of document.querySelectorAll("input.caption")) {
    let saved = field.value;
    const status = field.parentElement.querySelector(".saved");
    field.addEventListener("change", async function () {
      if (field.value === saved) return;
      const response = await window.lorabotFetch(field.dataset.url, {
        method: "PATCH",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ caption: field.value }),
      });
      const body = await response.json();
      if (response.ok) {
        saved = body.caption;
        status.className = "saved";
        status.textContent = "saved";
      } else {
        status.className = "saved bad";
        status.textContent = body.error.message;
      }
    });
  }
})();
