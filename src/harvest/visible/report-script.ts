/**
 * CHART_SCRIPT: the report's only script. It reads the JSON in #harvest-data (see
 * ReportData) and draws each chart as inline SVG into #chart-<id>, with a legend, shaded
 * pauses and a hover readout. No libraries and no network: the report must open offline
 * years later. Each series path carries data-points (buckets drawn) so a test can see it drew.
 * Plain ES2017 in a string, because it runs in the browser, not in Node.
 */
export const CHART_SCRIPT = String.raw`
(function () {
  'use strict';
  var NS = 'http://www.w3.org/2000/svg';
  var data = JSON.parse(document.getElementById('harvest-data').textContent);
  var W = 900, H = 220, L = 64, R = 12, T = 10, B = 26;
  var PW = W - L - R, PH = H - T - B;
  var end = Math.max(data.endS, 0.001);

  function svgEl(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    parent.appendChild(node);
    return node;
  }
  function htmlEl(name, className, parent, text) {
    var node = document.createElement(name);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    parent.appendChild(node);
    return node;
  }
  // An axis step of 1, 2 or 5 times a power of ten, at or above v.
  function niceStep(v) {
    if (!(v > 0)) return 1;
    var p = Math.pow(10, Math.floor(Math.log10(v)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) if (steps[i] * p >= v) return steps[i] * p;
    return 10 * p;
  }
  function fmtNum(v) {
    if (v >= 1000) return Math.round(v).toLocaleString('en-US');
    if (v >= 10) return String(Math.round(v));
    return String(Math.round(v * 100) / 100);
  }
  function fmtTime(s) {
    s = Math.round(s);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    if (h) return h + 'h' + (m < 10 ? '0' : '') + m + 'm';
    if (m) return m + 'm' + (sec < 10 ? '0' : '') + sec + 's';
    return sec + 's';
  }
  function timeStep(span) {
    var steps = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 14400, 28800, 86400];
    for (var i = 0; i < steps.length; i++) if (span / steps[i] <= 8) return steps[i];
    return steps[steps.length - 1];
  }
  // "20/s" but "500 ms": a rate's unit sticks to the number, others are spaced.
  function withUnit(v, unit) { return fmtNum(v) + (unit === '/s' ? '/s' : unit ? ' ' + unit : ''); }
  function x(s) { return L + (Math.min(s, end) / end) * PW; }
  function bucketEnd(i) { return Math.min(data.starts[i] + data.widthS, end); }

  function drawSeries(svg, series, y, barSlot, barCount) {
    var d = '', points = 0, run = 0, yZero = y(0);
    series.values.forEach(function (v, i) {
      var x0 = x(data.starts[i]), x1 = x(bucketEnd(i));
      if (v === null) {
        if (run === 1) d += 'h0.01';
        run = 0;
        return;
      }
      var py = y(v).toFixed(1);
      if (series.kind === 'bars') {
        if (v > 0) {
          var bw = (x1 - x0) / barCount;
          d += 'M' + (x0 + bw * barSlot).toFixed(2) + ' ' + py + 'H' + (x0 + bw * (barSlot + 1)).toFixed(2) + 'V' + yZero.toFixed(1) + 'H' + (x0 + bw * barSlot).toFixed(2) + 'Z';
        }
      } else if (series.kind === 'step') {
        d += (run ? 'L' : 'M') + x0.toFixed(2) + ' ' + py + 'L' + x1.toFixed(2) + ' ' + py;
      } else {
        d += (run ? 'L' : 'M') + ((x0 + x1) / 2).toFixed(2) + ' ' + py;
      }
      run++;
      if (series.kind !== 'bars' || v > 0) points++;
    });
    if (run === 1 && series.kind === 'line') d += 'h0.01'; // a lone point still shows as a dot
    var attrs = { d: d || 'M0 0', 'class': 'series ' + series.kind, 'data-series': series.name, 'data-points': points };
    if (series.kind === 'bars') { attrs.fill = series.color; }
    else { attrs.stroke = series.color; attrs.fill = 'none'; }
    if (series.dashed) attrs['stroke-dasharray'] = '6 4';
    svgEl('path', attrs, svg);
    return points;
  }

  function drawChart(chart) {
    var host = document.getElementById('chart-' + chart.id);
    var max = 0;
    chart.series.forEach(function (s) { s.values.forEach(function (v) { if (v !== null && v > max) max = v; }); });
    // Five or fewer gridlines at round values, the top one just above the highest point.
    var step = niceStep((max * 1.05) / 5);
    var ticks = Math.max(1, Math.ceil((max * 1.05) / step));
    var top = ticks * step;
    function y(v) { return T + PH - (v / top) * PH; }

    var legend = htmlEl('div', 'legend', host);
    chart.series.forEach(function (s) {
      var item = htmlEl('span', 'key', legend);
      var swatch = htmlEl('i', s.dashed ? 'swatch dashed' : 'swatch', item);
      swatch.style.borderColor = s.color;
      if (s.kind === 'bars') swatch.style.background = s.color;
      item.appendChild(document.createTextNode(s.name));
    });
    if (data.pauses.length) htmlEl('i', 'swatch pause', htmlEl('span', 'key', legend)).after('paused');

    var svg = svgEl('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': chart.title }, host);
    data.pauses.forEach(function (p) {
      svgEl('rect', { 'class': 'pause', x: x(p[0]), y: T, width: Math.max(1, x(p[1]) - x(p[0])), height: PH }, svg);
    });
    for (var i = 0; i <= ticks; i++) {
      var v = step * i, gy = y(v);
      svgEl('line', { 'class': i ? 'grid' : 'axis', x1: L, x2: W - R, y1: gy, y2: gy }, svg);
      svgEl('text', { 'class': 'ylab', x: L - 6, y: gy + 4 }, svg).textContent = withUnit(v, chart.unit);
    }
    var every = timeStep(end);
    for (var s = 0; s <= end + 1e-9; s += every) {
      svgEl('line', { 'class': 'axis', x1: x(s), x2: x(s), y1: T + PH, y2: T + PH + 4 }, svg);
      svgEl('text', { 'class': 'xlab', x: x(s), y: H - 8 }, svg).textContent = fmtTime(s);
    }
    var bars = chart.series.filter(function (s) { return s.kind === 'bars'; });
    var drawn = 0;
    chart.series.forEach(function (s) { drawn += drawSeries(svg, s, y, bars.indexOf(s), bars.length); });
    if (!data.starts.length) svgEl('text', { 'class': 'empty', x: L + PW / 2, y: T + PH / 2 }, svg).textContent = 'no data';
    host.setAttribute('data-drawn', String(drawn));
    hover(host, svg, chart, y);
  }

  // The values of the bucket under the pointer, in a small box beside a vertical rule.
  function hover(host, svg, chart, y) {
    var rule = svgEl('line', { 'class': 'rule', x1: 0, x2: 0, y1: T, y2: T + PH, visibility: 'hidden' }, svg);
    var tip = htmlEl('div', 'tip', host);
    tip.hidden = true;
    svg.addEventListener('mousemove', function (event) {
      var box = svg.getBoundingClientRect();
      var sx = ((event.clientX - box.left) / box.width) * W;
      var i = Math.floor((((sx - L) / PW) * end) / data.widthS);
      if (sx < L || i < 0 || i >= data.starts.length) { rule.setAttribute('visibility', 'hidden'); tip.hidden = true; return; }
      var mid = x((data.starts[i] + bucketEnd(i)) / 2);
      rule.setAttribute('x1', mid); rule.setAttribute('x2', mid); rule.setAttribute('visibility', 'visible');
      tip.textContent = '';
      htmlEl('b', '', tip, fmtTime(data.starts[i]) + '–' + fmtTime(bucketEnd(i)));
      chart.series.forEach(function (s) {
        var v = s.values[i];
        htmlEl('div', '', tip, s.name + ': ' + (v === null ? '–' : withUnit(v, chart.unit)));
      });
      tip.hidden = false;
      var left = (mid / W) * box.width;
      tip.style.left = (left > box.width * 0.7 ? left - tip.offsetWidth - 12 : left + 12) + 'px';
    });
    svg.addEventListener('mouseleave', function () { rule.setAttribute('visibility', 'hidden'); tip.hidden = true; });
  }

  data.charts.forEach(drawChart);
})();
`;
