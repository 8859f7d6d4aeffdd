/* A signature drawn on a canvas with a finger, a pen or the mouse (pointer events). No dependencies.
   new SignaturePad(canvas) -> .isEmpty(), .clear(), .toDataURL(), .onchange = function (empty) {} */
(function (global) {
  "use strict";

  function SignaturePad(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.strokes = 0;
    this.drawing = false;
    this.last = null;
    this.onchange = null;
    this._resize();
    var self = this;
    canvas.style.touchAction = "none"; // no scrolling while signing
    canvas.addEventListener("pointerdown", function (e) { self._down(e); });
    canvas.addEventListener("pointermove", function (e) { self._move(e); });
    canvas.addEventListener("pointerup", function (e) { self._up(e); });
    canvas.addEventListener("pointercancel", function (e) { self._up(e); });
    canvas.addEventListener("pointerleave", function (e) { self._up(e); });
  }

  SignaturePad.prototype._resize = function () {
    // Bounded resolution: at most 2x the CSS size, so the PNG stays small.
    var ratio = Math.min(global.devicePixelRatio || 1, 2);
    var rect = this.canvas.getBoundingClientRect();
    var width = Math.max(1, Math.round((rect.width || 320) * ratio));
    var height = Math.max(1, Math.round((rect.height || 160) * ratio));
    this.canvas.width = width;
    this.canvas.height = height;
    this.ratio = ratio;
    this.ctx.lineWidth = 2.4 * ratio;
    this.ctx.lineCap = "round";
    this.ctx.lineJoin = "round";
    this.ctx.strokeStyle = "#10203a";
  };

  SignaturePad.prototype._point = function (e) {
    var rect = this.canvas.getBoundingClientRect();
    var sx = this.canvas.width / (rect.width || 1);
    var sy = this.canvas.height / (rect.height || 1);
    return { x: (e.clientX - rect.left) * sx, y: (e.clientY - rect.top) * sy };
  };

  SignaturePad.prototype._down = function (e) {
    e.preventDefault();
    if (this.canvas.setPointerCapture && e.pointerId !== undefined) {
      try { this.canvas.setPointerCapture(e.pointerId); } catch (err) { /* synthetic events */ }
    }
    this.drawing = true;
    this.moved = false;
    this.last = this._point(e);
  };

  SignaturePad.prototype._move = function (e) {
    if (!this.drawing) return;
    e.preventDefault();
    var p = this._point(e);
    this.ctx.beginPath();
    this.ctx.moveTo(this.last.x, this.last.y);
    this.ctx.lineTo(p.x, p.y);
    this.ctx.stroke();
    this.last = p;
    this.moved = true;
  };

  SignaturePad.prototype._up = function (e) {
    if (!this.drawing) return;
    this.drawing = false;
    if (!this.moved && this.last) { // a tap: a dot
      this.ctx.beginPath();
      this.ctx.arc(this.last.x, this.last.y, this.ctx.lineWidth / 2, 0, Math.PI * 2);
      this.ctx.fillStyle = this.ctx.strokeStyle;
      this.ctx.fill();
    }
    this.strokes += 1;
    if (this.onchange) this.onchange(false);
  };

  SignaturePad.prototype.isEmpty = function () {
    return this.strokes === 0;
  };

  SignaturePad.prototype.clear = function () {
    this.ctx.clearRect(0, 0, this.canvas.width, this.canvas.height);
    this.strokes = 0;
    if (this.onchange) this.onchange(true);
  };

  SignaturePad.prototype.toDataURL = function () {
    return this.canvas.toDataURL("image/png");
  };

  global.SignaturePad = SignaturePad;
})(window);
