/**
 * The console's only page. Static markup: every value from the API is filled in by app.js with
 * textContent, never parsed as HTML. `{{APP_JS}}` and `{{APP_CSS}}` become hashed asset URLs (serve.ts).
 */
export const pageHtml = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>WeChat Fanout console</title>
<link rel="stylesheet" href="{{APP_CSS}}">
<script src="{{APP_JS}}" defer></script>
</head>
<body>
<header class="bar">
  <h1>WeChat Fanout</h1>
  <button type="button" id="forget-token" class="link" hidden>Forget token</button>
</header>

<section id="login" class="card narrow" aria-labelledby="login-title" hidden>
  <h2 id="login-title">Admin token</h2>
  <form id="login-form" novalidate>
    <label for="token-input">Token (<code>ADMIN_TOKEN</code>), kept for this browser tab only</label>
    <input id="token-input" name="token" type="password" autocomplete="off" required>
    <p class="msg" id="login-msg" role="alert"></p>
    <button type="submit">Open console</button>
  </form>
</section>

<main id="app" hidden>
  <p id="notice" class="msg" role="status" aria-live="polite"></p>

  <section class="card" aria-labelledby="tasks-title">
    <div class="head">
      <h2 id="tasks-title">Push tasks</h2>
      <button type="button" id="tasks-refresh">Refresh</button>
    </div>
    <div class="scroll">
      <table id="tasks">
        <thead>
          <tr>
            <th scope="col">Task</th>
            <th scope="col">Created</th>
            <th scope="col">Template</th>
            <th scope="col">Goods</th>
            <th scope="col">Recipients</th>
            <th scope="col">Type</th>
            <th scope="col">Status</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody></tbody>
      </table>
    </div>
    <p class="empty" id="tasks-empty" hidden>No push tasks yet.</p>
    <button type="button" id="tasks-more" hidden>More tasks</button>
  </section>

  <section class="card" id="task-detail" aria-labelledby="detail-title" hidden>
    <div class="head">
      <h2 id="detail-title" tabindex="-1">Task</h2>
      <button type="button" id="detail-close" class="link">Close</button>
    </div>
    <dl id="detail-summary" class="summary"></dl>
    <div id="detail-progress"></div>
    <p class="msg" id="detail-msg" role="status" aria-live="polite"></p>
    <div class="actions">
      <button type="button" id="send-button">Send</button>
      <button type="button" id="retry-button">Retry failed</button>
    </div>

    <form id="upload-form" class="upload" novalidate>
      <h3>Recipients</h3>
      <label for="csv-file">CSV file: one recipient per line, the openid in the first column (a header row is skipped)</label>
      <input id="csv-file" name="csv" type="file" accept=".csv,.txt,text/csv,text/plain">
      <button type="submit" id="upload-button">Upload</button>
      <div id="upload-report" aria-live="polite"></div>
    </form>

    <h3 id="records-title">Per-user records</h3>
    <label class="inline"><input type="checkbox" id="failed-only"> Failed only</label>
    <div class="scroll">
      <table id="records" aria-labelledby="records-title">
        <thead>
          <tr>
            <th scope="col">openid</th>
            <th scope="col">Status</th>
            <th scope="col">errcode</th>
            <th scope="col">errmsg</th>
            <th scope="col">At</th>
          </tr>
        </thead>
        <tbody></tbody>
      </table>
    </div>
    <p class="empty" id="records-empty" hidden>No records.</p>
    <button type="button" id="records-more" hidden>More records</button>
  </section>

  <section class="card" aria-labelledby="create-title">
    <h2 id="create-title">New push task</h2>
    <form id="task-form" novalidate>
      <div class="grid">
        <div class="field">
          <label for="f-name">Name</label>
          <input id="f-name" name="name" data-required data-max="50" aria-describedby="f-name-msg">
          <p class="field-msg" id="f-name-msg" aria-live="polite"></p>
        </div>
        <div class="field">
          <label for="f-channel">Type</label>
          <select id="f-channel" name="channel">
            <option value="template">Official Account template message</option>
            <option value="subscribe">Mini-program subscribe message</option>
          </select>
        </div>
        <div class="field">
          <label for="f-templateId">Template id</label>
          <input id="f-templateId" name="templateId" data-required data-max="128" aria-describedby="f-templateId-msg">
          <p class="field-msg" id="f-templateId-msg" aria-live="polite"></p>
        </div>
        <div class="field">
          <label for="f-templateName">Template name</label>
          <input id="f-templateName" name="templateName" data-required data-max="50" aria-describedby="f-templateName-msg">
          <p class="field-msg" id="f-templateName-msg" aria-live="polite"></p>
        </div>
        <div class="field">
          <label for="f-topic">Topic (at most 10 characters)</label>
          <input id="f-topic" name="topic" data-required data-max="10" aria-describedby="f-topic-msg">
          <p class="field-msg" id="f-topic-msg" aria-live="polite"></p>
        </div>
        <div class="field">
          <label for="f-caption">Caption (at most 30 characters)</label>
          <input id="f-caption" name="caption" data-required data-max="30" aria-describedby="f-caption-msg">
          <p class="field-msg" id="f-caption-msg" aria-live="polite"></p>
        </div>
        <div class="field">
          <label for="f-tips">Tips (optional, at most 30 characters)</label>
          <input id="f-tips" name="tips" data-max="30" aria-describedby="f-tips-msg">
          <p class="field-msg" id="f-tips-msg" aria-live="polite"></p>
        </div>
        <div class="field">
          <label for="f-page">Page opened on tap (optional)</label>
          <input id="f-page" name="page" data-max="512" aria-describedby="f-page-msg">
          <p class="field-msg" id="f-page-msg" aria-live="polite"></p>
        </div>
        <div class="field wide">
          <label for="f-data">Template data: one <code>key=value</code> per line</label>
          <textarea id="f-data" name="data" rows="3" data-required aria-describedby="f-data-help f-data-msg">thing1={{topic}}
thing2={{caption}}</textarea>
          <p class="help" id="f-data-help">Values may use <code>{{name}}</code> <code>{{templateName}}</code>
            <code>{{topic}}</code> <code>{{caption}}</code> <code>{{tips}}</code> <code>{{goods.id}}</code>
            <code>{{goods.title}}</code> <code>{{goods.price}}</code>; each rendered value must fit its key's
            WeChat type (a <code>thing</code> holds at most 20 characters).</p>
          <p class="field-msg" id="f-data-msg" aria-live="polite"></p>
        </div>
        <div class="field">
          <label for="f-goodsId">Goods code</label>
          <input id="f-goodsId" name="goodsId" data-required data-max="64" aria-describedby="f-goodsId-msg">
          <p class="field-msg" id="f-goodsId-msg" aria-live="polite"></p>
        </div>
        <div class="field">
          <label for="f-goodsTitle">Goods title</label>
          <input id="f-goodsTitle" name="goodsTitle" data-required data-max="100" aria-describedby="f-goodsTitle-msg">
          <p class="field-msg" id="f-goodsTitle-msg" aria-live="polite"></p>
        </div>
        <div class="field">
          <label for="f-goodsPrice">Goods price (yuan, e.g. 12.50)</label>
          <input id="f-goodsPrice" name="goodsPrice" inputmode="decimal" data-required data-price aria-describedby="f-goodsPrice-msg">
          <p class="field-msg" id="f-goodsPrice-msg" aria-live="polite"></p>
        </div>
        <div class="field">
          <label class="inline"><input id="f-goodsOnShelf" name="goodsOnShelf" type="checkbox" checked> Goods on shelf</label>
        </div>
        <div class="field">
          <label for="f-audience">Audience</label>
          <select id="f-audience" name="audience">
            <option value="uploaded">Uploaded list (CSV)</option>
            <option value="all">All active subscribers</option>
          </select>
        </div>
      </div>
      <p class="msg" id="form-msg" role="alert"></p>
      <button type="submit" id="create-button">Create task</button>
    </form>
  </section>

  <section class="card" aria-labelledby="posts-title">
    <div class="head">
      <h2 id="posts-title">Paid-post broadcasts</h2>
      <button type="button" id="posts-refresh">Refresh</button>
    </div>
    <div class="scroll">
      <table id="posts">
        <thead>
          <tr>
            <th scope="col">Order</th>
            <th scope="col">Created</th>
            <th scope="col">Amount</th>
            <th scope="col">Content</th>
            <th scope="col">Payment</th>
            <th scope="col">Status</th>
            <th scope="col">Progress</th>
          </tr>
        </thead>
        <tbody></tbody>
      </table>
    </div>
    <p class="empty" id="posts-empty" hidden>No posts yet.</p>
    <button type="button" id="posts-more" hidden>More posts</button>
  </section>
</main>
<noscript><p class="card">The console needs JavaScript.</p></noscript>
</body>
</html>
`;
