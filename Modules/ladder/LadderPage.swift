import Foundation

/// The ladder page: one self-contained HTML document (no external scripts or styles) that
/// polls `<prefix>/api/calls` with its cursor every `refresh_ms`, lists the calls, and draws
/// the selected one (the most recent until one is clicked) as a ladder (SVG): a column per `ip:port`, an arrow per message with its
/// method or status and the time since the call's first message; a click shows the message.
enum LadderPage {
    static func html(prefix: String, refreshMillis: Int) -> String {
        template.replacingOccurrences(of: "@PREFIX@", with: LadderJSON.string(prefix))
            .replacingOccurrences(of: "@REFRESH@", with: String(refreshMillis))
    }

    static let template = #"""
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>Swiftlet SIP ladder</title>
        <style>
        body{font:13px system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
        header{background:#1f3a5f;color:#fff;padding:8px 12px;display:flex;gap:10px;align-items:center;flex-wrap:wrap}
        header h1{font-size:16px;margin:0 12px 0 0}
        header input{padding:3px 6px;border-radius:3px;border:0;width:150px} header input[type=checkbox]{width:auto}
        #status{margin-left:auto;font-size:12px;opacity:.85}
        main{display:flex;height:calc(100vh - 44px)}
        #list{width:34%;overflow:auto;border-right:1px solid #ccc;background:#fff}
        #view{flex:1;overflow:auto;padding:8px}
        table{border-collapse:collapse;width:100%}
        th,td{padding:3px 6px;text-align:left;border-bottom:1px solid #eee;white-space:nowrap}
        th{position:sticky;top:0;background:#eef;font-weight:600}
        tr.call{cursor:pointer} tr.call:hover{background:#f3f6ff} tr.selected{background:#dde8ff}
        .ok{color:#176e2c;font-weight:600} .fail{color:#b0231a;font-weight:600}
        svg text{font:12px ui-monospace,monospace} .party{font-weight:700}
        g.arrow{cursor:pointer} g.arrow:hover line{stroke-width:3} g.arrow.active line{stroke:#d9480f}
        #message{background:#fff;border:1px solid #ccc;padding:8px;white-space:pre-wrap;font:12px ui-monospace,monospace;min-height:2em}
        </style></head>
        <body>
        <header><h1>Swiftlet SIP ladder</h1>
        <input id="f-callid" placeholder="Call-ID"><input id="f-user" placeholder="user"><input id="f-ip" placeholder="IP">
        <label><input type="checkbox" id="live" checked> live</label><span id="status">loading</span></header>
        <main><div id="list"><table><thead><tr><th>time</th><th>method</th><th>from</th><th>to</th><th>final</th><th>msgs</th></tr></thead>
        <tbody id="calls"></tbody></table></div>
        <div id="view"><h3 id="title">no call selected</h3><svg id="ladder" width="0" height="0"></svg>
        <pre id="message"></pre></div></main>
        <script>
        "use strict";
        const PREFIX = @PREFIX@, REFRESH = @REFRESH@;
        const NS = "http://www.w3.org/2000/svg";
        let cursor = -1, calls = [], local = [], selected = null, selectedSeq = -1, detail = null;
        const $ = id => document.getElementById(id);
        function filters() {
          const q = [];
          for (const k of ["callid", "user", "ip"]) {
            const v = $("f-" + k).value.trim();
            if (v) q.push(k + "=" + encodeURIComponent(v));
          }
          return q;
        }
        function clock(us) { const d = new Date(us / 1000); return d.toLocaleTimeString() + "." + String(d.getMilliseconds()).padStart(3, "0"); }
        function cell(tr, text, cls) { const td = document.createElement("td"); td.textContent = text; if (cls) td.className = cls; tr.appendChild(td); }
        function renderList() {
          const body = $("calls");
          body.textContent = "";
          for (const c of calls) {
            const tr = document.createElement("tr");
            tr.className = "call" + (c.callid === selected ? " selected" : "");
            tr.dataset.callid = c.callid;
            cell(tr, clock(c.first_us)); cell(tr, c.method); cell(tr, c.from_user); cell(tr, c.to_user);
            cell(tr, c.final_code ? String(c.final_code) : "", c.final_code >= 300 ? "fail" : (c.final_code >= 200 ? "ok" : ""));
            cell(tr, String(c.count));
            tr.onclick = () => select(c.callid);
            body.appendChild(tr);
          }
        }
        async function poll() {
          const q = filters();
          q.push("since=" + cursor);
          try {
            const r = await fetch(PREFIX + "/api/calls?" + q.join("&"), {cache: "no-store"});
            const j = await r.json();
            $("status").textContent = "updated " + new Date().toLocaleTimeString() + " (cursor " + j.cursor + ")";
            if (!j.changed) return;
            cursor = j.cursor; calls = j.calls; local = j.local;
            if (selected === null && calls.length) selected = calls[0].callid;
            renderList();
            const c = calls.find(x => x.callid === selected);
            if (c && c.seq !== selectedSeq) await load(c.callid, c.seq);
          } catch (e) { $("status").textContent = "error: " + e; }
        }
        function select(id) { selected = id; selectedSeq = -1; renderList(); load(id, -1); }
        async function load(id, seq) {
          const r = await fetch(PREFIX + "/api/call/" + encodeURIComponent(id), {cache: "no-store"});
          if (!r.ok) return;
          detail = await r.json();
          selectedSeq = seq;
          draw();
        }
        function svg(parent, name, attrs, text) {
          const e = document.createElementNS(NS, name);
          for (const k in attrs) e.setAttribute(k, attrs[k]);
          if (text !== undefined) e.textContent = text;
          parent.appendChild(e);
          return e;
        }
        function draw() {
          const d = detail, s = $("ladder");
          s.textContent = "";
          $("title").textContent = "Call-ID " + d.callid;
          const X0 = 110, Y0 = 56, H = 30;
          const W = Math.max(150, Math.min(260, ($("view").clientWidth - X0 - 110) / Math.max(1, d.parties.length - 1)));
          const col = p => X0 + d.parties.indexOf(p) * W;
          s.setAttribute("width", X0 + (d.parties.length - 1) * W + 100);
          s.setAttribute("height", Y0 + d.messages.length * H + 20);
          const defs = svg(s, "defs", {});
          const m = svg(defs, "marker", {id: "head", markerWidth: 10, markerHeight: 8, refX: 10, refY: 4, orient: "auto"});
          svg(m, "path", {d: "M0,0 L10,4 L0,8 z", fill: "#1f3a5f"});
          d.parties.forEach(p => {
            const x = col(p);
            svg(s, "text", {x: x, y: 18, "text-anchor": "middle", class: "party"}, p);
            svg(s, "text", {x: x, y: 34, "text-anchor": "middle"}, local.includes(p) ? "(Swiftlet)" : "");
            svg(s, "line", {x1: x, y1: 40, x2: x, y2: Y0 + d.messages.length * H, stroke: "#999", "stroke-dasharray": "4 3"});
          });
          const t0 = d.messages.length ? d.messages[0].time_us : 0;
          d.messages.forEach((msg, i) => {
            const y = Y0 + i * H + 12, x1 = col(msg.src), x2 = col(msg.dst);
            const g = svg(s, "g", {class: "arrow"});
            g.dataset.seq = msg.seq; g.dataset.label = msg.label;
            svg(g, "text", {x: 4, y: y + 4}, "+" + ((msg.time_us - t0) / 1e6).toFixed(3) + "s");
            const color = msg.code >= 300 ? "#b0231a" : (msg.code >= 200 ? "#176e2c" : "#1f3a5f");
            svg(g, "line", {x1: x1, y1: y, x2: x2 === x1 ? x1 + 40 : x2, y2: y, stroke: color, "stroke-width": 2, "marker-end": "url(#head)"});
            svg(g, "text", {x: (x1 + x2) / 2, y: y - 4, "text-anchor": "middle", fill: color, class: "label"},
                (msg.label.length > 28 ? msg.label.slice(0, 27) + "…" : msg.label) + " (" + msg.proto + ")");
            g.onclick = () => show(msg, g);
          });
        }
        function show(msg, g) {
          document.querySelectorAll("g.arrow.active").forEach(a => a.classList.remove("active"));
          g.classList.add("active");
          $("message").textContent = clock(msg.time_us) + "  " + msg.src + " -> " + msg.dst + "  " + msg.proto
            + (msg.truncated ? "  (" + msg.length + " bytes, cut)" : "") + "\n\n" + msg.text;
        }
        // The filters may come in the fragment: #callid=...&user=...&ip=...
        for (const [k, v] of new URLSearchParams(location.hash.slice(1))) { const e = $("f-" + k); if (e) e.value = v; }
        for (const k of ["callid", "user", "ip"]) $("f-" + k).addEventListener("input", () => { cursor = -1; poll(); });
        setInterval(() => { if ($("live").checked) poll(); }, REFRESH);
        poll();
        </script></body></html>
        """#
}
