// The inspection pages' enhancements. Every page works without this script except the photo
// upload itself, which has to go straight from the phone to object storage:
//  - [data-uploader]: hash, ask for a slot, upload with progress, confirm, retry on failure;
//  - form[data-answer]: one tap per checklist answer, swapped in place without a reload;
//  - form[data-geolocate]: fill latitude and longitude from the phone when allowed.
(function () {
  "use strict";

  // The confirm URL comes from the page with this id in place of the evidence's.
  var NO_ID = "00000000-0000-0000-0000-000000000000";
  var TYPES_BY_EXTENSION = {
    jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", heic: "image/heic",
    heif: "image/heic", pdf: "application/pdf", mp4: "video/mp4"
  };

  function contentTypeOf(file) {
    if (file.type) return file.type;
    // Some phones leave the type of HEIC photos empty.
    var extension = (file.name.split(".").pop() || "").toLowerCase();
    return TYPES_BY_EXTENSION[extension] || "application/octet-stream";
  }

  function sha256Hex(file) {
    if (!window.crypto || !window.crypto.subtle) {
      return Promise.reject(new Error("本页面需要通过 HTTPS 打开才能上传照片。"));
    }
    return file.arrayBuffer().then(function (buffer) {
      return window.crypto.subtle.digest("SHA-256", buffer);
    }).then(function (digest) {
      return Array.prototype.map.call(new Uint8Array(digest), function (byte) {
        return byte.toString(16).padStart(2, "0");
      }).join("");
    });
  }

  function apiError(response, fallback) {
    return response.json().then(function (body) {
      var messages = [];
      if (body.detail) messages.push(body.detail);
      Object.keys(body.errors || {}).forEach(function (field) {
        messages = messages.concat(body.errors[field]);
      });
      return new Error(messages.join(" ") || fallback);
    }, function () {
      return new Error(fallback + "（" + response.status + "）");
    }).then(function (error) {
      // The portal refused this file (type, size, content): sending it again cannot help.
      error.refused = response.status === 400;
      return error;
    });
  }

  function postJson(url, csrf, payload) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
      body: JSON.stringify(payload)
    });
  }

  function Upload(uploader, file) {
    this.uploader = uploader;
    this.file = file;
    this.sha256 = null;
    this.slot = null;
    this.row = document.createElement("li");
    this.row.className = "upload";
    this.name = document.createElement("span");
    this.name.textContent = file.name;
    this.bar = document.createElement("progress");
    this.bar.max = 100;
    this.bar.value = 0;
    this.status = document.createElement("span");
    this.status.className = "muted";
    this.row.append(this.name, this.bar, this.status);
    uploader.list.append(this.row);
  }

  Upload.prototype.say = function (text, isError) {
    this.status.textContent = text;
    this.status.className = isError ? "error" : "muted";
  };

  Upload.prototype.run = function () {
    var self = this;
    self.say("正在校验文件…");
    var hashed = self.sha256 ? Promise.resolve(self.sha256) : sha256Hex(self.file);
    return hashed.then(function (sha256) {
      self.sha256 = sha256;
      return self.slot ? self.slot : self.requestSlot();
    }).then(function (slot) {
      self.slot = slot;
      // No upload form: the same file is already stored and confirmed.
      if (!slot.upload) return null;
      self.say("正在上传…");
      return self.send(slot.upload);
    }).then(function () {
      self.say("正在确认…");
      return self.confirm();
    }).then(function (evidence) {
      self.done(evidence);
    }).catch(function (error) {
      self.fail(error);
    });
  };

  Upload.prototype.requestSlot = function () {
    var uploader = this.uploader;
    var payload = {
      purpose: uploader.purpose,
      filename: this.file.name,
      content_type: contentTypeOf(this.file),
      size: this.file.size,
      sha256: this.sha256
    };
    payload[uploader.targetKind] = uploader.targetId;
    return postJson(uploader.uploadsUrl, uploader.csrf, payload).then(function (response) {
      if (!response.ok) return apiError(response, "无法申请上传").then(function (e) { throw e; });
      return response.json();
    });
  };

  Upload.prototype.send = function (upload) {
    var self = this;
    return new Promise(function (resolve, reject) {
      var form = new FormData();
      Object.keys(upload.fields).forEach(function (name) { form.append(name, upload.fields[name]); });
      // Storage reads the policy fields first; the file must come last.
      form.append("file", self.file);
      var request = new XMLHttpRequest();
      request.open("POST", upload.url);
      request.upload.onprogress = function (event) {
        if (event.lengthComputable) self.bar.value = Math.round((event.loaded / event.total) * 100);
      };
      request.onload = function () {
        if (request.status >= 200 && request.status < 300) {
          self.bar.value = 100;
          resolve();
        } else {
          // An expired or refused slot cannot be used again: the retry asks for a new one.
          self.slot = null;
          reject(new Error("上传被存储服务拒绝（" + request.status + "），请重试。"));
        }
      };
      request.onerror = function () { reject(new Error("网络中断，上传未完成，请重试。")); };
      request.send(form);
    });
  };

  Upload.prototype.confirm = function () {
    var self = this;
    var url = self.uploader.confirmUrl.replace(NO_ID, self.slot.id);
    return postJson(url, self.uploader.csrf, {}).then(function (response) {
      if (response.ok) return response.json();
      // A refused confirmation removes the object and the slot on the server.
      if (response.status === 400 || response.status === 404) self.slot = null;
      return apiError(response, "文件确认失败").then(function (e) { throw e; });
    });
  };

  Upload.prototype.done = function (evidence) {
    this.bar.remove();
    this.say("已上传", false);
    if (this.file.type.indexOf("image/") === 0) {
      var thumbnail = document.createElement("img");
      thumbnail.className = "thumbnail";
      thumbnail.alt = this.file.name;
      thumbnail.src = URL.createObjectURL(this.file);
      this.row.prepend(thumbnail);
    }
    var form = this.uploader.form;
    if (form) {
      var input = document.createElement("input");
      input.type = "hidden";
      input.name = "evidence";
      input.value = evidence.id;
      form.append(input);
    }
  };

  Upload.prototype.fail = function (error) {
    var self = this;
    // A full bar beside the failure would read as "uploaded".
    self.bar.hidden = true;
    self.say("上传失败：" + error.message, true);
    if (error.refused) return;
    var retry = document.createElement("button");
    retry.type = "button";
    retry.className = "secondary tap";
    retry.textContent = "重试";
    retry.addEventListener("click", function () {
      retry.remove();
      self.bar.value = 0;
      self.bar.hidden = false;
      self.run();
    });
    self.row.append(retry);
  };

  function setUpUploader(element) {
    var uploader = {
      list: element.querySelector(".uploads"),
      purpose: element.dataset.purpose,
      targetKind: element.dataset.hazard ? "hazard" : "inspection",
      targetId: element.dataset.hazard || element.dataset.inspection,
      form: element.dataset.form ? document.getElementById(element.dataset.form) : null,
      csrf: element.dataset.csrf,
      uploadsUrl: element.dataset.uploadsUrl,
      confirmUrl: element.dataset.confirmUrl
    };
    var input = element.querySelector("input[type=file]");
    input.addEventListener("change", function () {
      Array.prototype.forEach.call(input.files, function (file) { new Upload(uploader, file).run(); });
      input.value = "";
    });
  }

  function setUpAnswers() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (!form.matches("form[data-answer]")) return;
      event.preventDefault();
      var item = form.closest("[data-item]");
      item.classList.add("busy");
      fetch(form.action, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-Requested-With": "fetch" },
        body: new FormData(form)
      }).then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if ((response.ok || response.status === 400) && type.indexOf("text/html") === 0) {
          return response.text().then(function (html) { item.outerHTML = html; });
        }
        throw new Error("保存失败（" + response.status + "），请刷新页面后重试。");
      }).catch(function (error) {
        item.classList.remove("busy");
        var message = item.querySelector(".error") || document.createElement("p");
        message.className = "error";
        message.setAttribute("role", "alert");
        message.textContent = error.message.indexOf("保存失败") === 0 ? error.message : "网络中断，答案未保存，请重试。";
        item.append(message);
      });
    });
  }

  function setUpLocation(form) {
    var button = form.querySelector("[data-locate]");
    var status = form.querySelector("[data-locate-status]");
    var latitude = form.querySelector("[name=latitude]");
    var longitude = form.querySelector("[name=longitude]");
    if (!button || !navigator.geolocation) return;
    button.hidden = false;
    function locate() {
      status.textContent = "正在获取位置…";
      navigator.geolocation.getCurrentPosition(function (position) {
        latitude.value = position.coords.latitude.toFixed(6);
        longitude.value = position.coords.longitude.toFixed(6);
        status.textContent = "已获取位置（精度约 " + Math.round(position.coords.accuracy) + " 米）。";
      }, function () {
        status.textContent = "无法获取位置（未授权或信号不佳），请手动填写或稍后再试。";
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    }
    button.addEventListener("click", locate);
    if (!latitude.value && !longitude.value) locate();
  }

  document.querySelectorAll("[data-uploader]").forEach(setUpUploader);
  document.querySelectorAll("form[data-geolocate]").forEach(setUpLocation);
  if (document.querySelector("form[data-answer]")) setUpAnswers();
})();
