// The upload page: POST files for a signed S3 form, send the file to S3 with it (XMLHttpRequest, for
// upload progress), then follow GET files/{id} to done and show the report and the downloads.
"use strict";

(function () {
  const POLL_MS = 1500;
  const MB = 1024 * 1024;

  // A name the API accepts: letters, digits, spaces and . _ - ( ); the extension in lower case.
  function safeName(name) {
    const match = /^(.*?)(\.csv\.gz|\.csv)$/i.exec(name);
    if (!match) return null;
    let stem = match[1].replace(/[^A-Za-z0-9._() -]/g, "_").replace(/^[^A-Za-z0-9]+/, "");
    if (!stem) stem = "reviews";
    return stem.slice(0, 100) + match[2].toLowerCase();
  }

  function megabytes(bytes) {
    return (bytes / MB).toFixed(bytes < 10 * MB ? 1 : 0) + " MB";
  }

  // S3 answers a refused upload with an XML <Error>: put its code in words an analyst can act on.
  function s3Message(status, xml, maxBytes) {
    const code = (/<Code>([^<]*)<\/Code>/.exec(xml || "") || [])[1] || "";
    const detail = (/<Message>([^<]*)<\/Message>/.exec(xml || "") || [])[1] || "";
    const limit = maxBytes ? megabytes(maxBytes) : "the limit";
    if (code === "EntityTooLarge") return "The file is too large: an upload may be at most " + limit + ". Split it into smaller files.";
    if (code === "EntityTooSmall") return "The file is empty: choose a CSV file with a header row and reviews.";
    if (code === "AccessDenied" && /expired/i.test(detail)) return "The upload form expired before the file was sent. Choose the file and upload it again.";
    if (code === "AccessDenied" && /condition/i.test(detail)) return "Storage refused the file because it does not match the upload form (its name, type or size). Upload it again from this page.";
    if (code === "AccessDenied") return "Storage refused the upload (access denied). The form may have expired: upload the file again.";
    if (code === "SignatureDoesNotMatch" || code === "InvalidPolicyDocument" || code === "InvalidAccessKeyId")
      return "Storage did not accept the upload form's signature. Reload the page and upload the file again.";
    if (code === "SlowDown" || code === "ServiceUnavailable" || status >= 500)
      return "Storage is busy and did not take the file. Wait a minute and upload it again.";
    if (code) return "Storage refused the upload (" + code + (detail ? ": " + detail : "") + ").";
    return "The upload failed (HTTP " + status + "). Upload the file again.";
  }

  // An API error answer ({"error", "details"}) in one sentence.
  function apiMessage(status, body) {
    if (body && body.error) {
      const details = (body.details || []).map((d) => d.problem).join("; ");
      return body.error.charAt(0).toUpperCase() + body.error.slice(1) + (details ? ": " + details : "") + ".";
    }
    return "The service answered HTTP " + status + ". Try again in a minute.";
  }

  const api = { safeName, s3Message, apiMessage, megabytes };
  if (typeof module !== "undefined" && module.exports) {
    module.exports = api;
    return;
  }
  window.uploadPage = api;

  function start() {
    const $ = (id) => document.getElementById(id);
    const form = $("upload-form"), input = $("file-input"), zone = $("drop-zone"), button = $("upload-button");
    const errorBox = $("error"), state = $("state");
    let chosen = null;

    function showError(message) {
      errorBox.textContent = message;
      errorBox.hidden = false;
      button.disabled = false;
    }

    function choose(file) {
      chosen = file || null;
      $("chosen").textContent = chosen ? chosen.name + " (" + megabytes(chosen.size) + ")" : "";
      errorBox.hidden = true;
    }

    input.addEventListener("change", () => choose(input.files[0]));
    zone.addEventListener("dragover", (event) => { event.preventDefault(); zone.classList.add("dragging"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
    zone.addEventListener("drop", (event) => {
      event.preventDefault();
      zone.classList.remove("dragging");
      if (event.dataTransfer.files.length) choose(event.dataTransfer.files[0]);
    });

    function setBar(bar, label, fraction) {
      if (fraction === null) {
        bar.removeAttribute("value"); // indeterminate: scoring has not counted rows yet
        label.textContent = "";
      } else {
        bar.value = Math.round(fraction * 100);
        label.textContent = Math.round(fraction * 100) + "%";
      }
    }

    async function requestForm(file) {
      const body = { name: safeName(file.name) };
      const group = $("group-column").value.trim();
      if (group) body.group_column = group;
      if ($("explain").checked) body.explain = true;
      const response = await fetch("files", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      const answer = await response.json().catch(() => null);
      if (response.status !== 201) throw new Error(apiMessage(response.status, answer));
      return answer;
    }

    function send(upload, file) {
      return new Promise((resolve, reject) => {
        const data = new FormData();
        for (const [name, value] of Object.entries(upload.upload.fields)) data.append(name, value);
        // The type S3 checks is the form's Content-Type field; the file goes last, as S3 requires.
        data.append("file", new Blob([file], { type: upload.content_type }), upload.name);
        const xhr = new XMLHttpRequest();
        xhr.open("POST", upload.upload.url);
        xhr.upload.addEventListener("progress", (event) => {
          if (event.lengthComputable) setBar($("upload-progress"), $("upload-percent"), event.loaded / event.total);
        });
        xhr.addEventListener("load", () => {
          if (xhr.status >= 200 && xhr.status < 300) resolve();
          else reject(new Error(s3Message(xhr.status, xhr.responseText, upload.max_bytes)));
        });
        xhr.addEventListener("error", () =>
          reject(new Error("The file could not reach storage (a network or CORS problem). Check the connection and upload it again.")));
        xhr.send(data);
      });
    }

    function showFigures(summary) {
      const figures = $("figures");
      figures.replaceChildren();
      const seconds = summary.seconds;
      const rows = [
        ["Rows", summary.rows],
        ["Scored", summary.scored],
        ["Positive reviews", summary.scored ? Math.round((100 * summary.positives) / summary.scored) + "%" : "-"],
        ["Rows with errors", summary.rows_with_errors],
        ["Time taken", typeof seconds === "number" ? (seconds < 10 ? seconds.toFixed(1) : Math.round(seconds)) + " s" : null],
      ];
      for (const [name, value] of rows) {
        if (value === undefined || value === null) continue;
        const item = document.createElement("div");
        const term = document.createElement("dt");
        const detail = document.createElement("dd");
        term.textContent = name;
        detail.textContent = typeof value === "number" ? value.toLocaleString("en") : value;
        item.append(term, detail);
        figures.append(item);
      }
    }

    function showDone(file) {
      setBar($("scoring-progress"), $("scoring-percent"), 1);
      state.textContent = "Done: " + file.summary.rows.toLocaleString("en") + " rows scored.";
      showFigures(file.summary);
      $("download-csv").href = file.links.csv;
      const expires = new Date(file.links.expires_at);
      $("links-expire").textContent = "The links work until " +
        expires.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", timeZone: "UTC" }) +
        " UTC; reload the page for new ones.";
      const frame = $("report-frame"), open = $("open-report");
      if (file.links.report) {
        frame.src = file.links.report;
        open.href = file.links.report;
        frame.hidden = open.hidden = false;
        $("no-report").hidden = true;
      } else {
        frame.hidden = open.hidden = true;
        $("no-report").hidden = false;
      }
      $("result").hidden = false;
      button.disabled = false;
    }

    async function follow(fileId) {
      for (;;) {
        const response = await fetch("files/" + encodeURIComponent(fileId), { cache: "no-store" });
        const file = await response.json().catch(() => null);
        if (response.status !== 200) throw new Error(apiMessage(response.status, file));
        if (file.state === "done") return showDone(file);
        if (file.state === "failed" || file.state === "rejected") {
          state.textContent = file.state === "rejected" ? "The file was not scored." : "Scoring failed.";
          throw new Error((file.state === "rejected" ? "Not scored: " : "Scoring failed: ") + file.error);
        }
        const progress = file.progress || {};
        if (file.state === "scoring" && progress.rows_total) {
          const fraction = Math.min(1, (progress.rows_done || 0) / progress.rows_total);
          setBar($("scoring-progress"), $("scoring-percent"), fraction);
          state.textContent = "Scoring: " + (progress.rows_done || 0).toLocaleString("en") + " of " +
            progress.rows_total.toLocaleString("en") + " rows.";
        } else {
          setBar($("scoring-progress"), $("scoring-percent"), null);
          state.textContent = file.state === "scoring" ? "Scoring has started." : "Uploaded; scoring starts in a moment.";
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      errorBox.hidden = true;
      if (!chosen) return showError("Choose a CSV file first.");
      if (!safeName(chosen.name)) return showError("The file must be a .csv or a .csv.gz file.");
      if (chosen.size === 0) return showError("The file is empty: choose a CSV file with a header row and reviews.");
      button.disabled = true;
      $("result").hidden = true;
      $("progress-section").hidden = false;
      setBar($("upload-progress"), $("upload-percent"), 0);
      setBar($("scoring-progress"), $("scoring-percent"), 0);
      try {
        state.textContent = "Preparing the upload.";
        const upload = await requestForm(chosen);
        if (chosen.size > upload.max_bytes)
          throw new Error("The file is " + megabytes(chosen.size) + ": an upload may be at most " + megabytes(upload.max_bytes) + ". Split it into smaller files.");
        state.textContent = "Uploading " + upload.name + ".";
        await send(upload, chosen);
        history.replaceState(null, "", "#file=" + upload.file_id); // a reload follows this file again
        setBar($("upload-progress"), $("upload-percent"), 1);
        await follow(upload.file_id);
      } catch (problem) {
        showError(problem.message);
      }
    });

    // Opened again for a file uploaded earlier (#file=<id>): follow it, with fresh links.
    const earlier = /^#file=([0-9a-f-]{36})$/.exec(location.hash);
    if (earlier) {
      $("progress-section").hidden = false;
      setBar($("upload-progress"), $("upload-percent"), 1);
      button.disabled = true;
      follow(earlier[1]).catch((problem) => showError(problem.message));
    }
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
