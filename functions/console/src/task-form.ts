import { PLACEHOLDERS, TASK_LIMITS } from "../../core/push-task.ts";
import { ApiError, api } from "./api.ts";
import { type Ctx, errorText, isSignedOut } from "./context.ts";
import { h, say } from "./dom.ts";
import {
  checkField,
  type FormField,
  type FormValues,
  placeServerProblems,
  problemText,
  type TextField,
  taskBody,
} from "./form-rules.ts";

const DEFAULT_DATA = "thing1={{topic}}\nthing2={{caption}}";
type Control = HTMLInputElement | HTMLTextAreaElement | HTMLSelectElement;

/** The new-task form: the API's limits checked as the operator types, the API's 400s under their field. */
export function createTaskForm(ctx: Ctx, created: (taskId: string) => Promise<void>): HTMLElement {
  const { t } = ctx;
  const texts = new Map<TextField, HTMLInputElement | HTMLTextAreaElement>();
  const controls = new Map<FormField, Control>();
  const messages = new Map<FormField, HTMLElement>();
  const touched = new Set<TextField>();

  const message = (field: FormField) => {
    const out = h("p", { className: "field-msg", attrs: { id: `f-${field}-msg`, "aria-live": "polite" } });
    messages.set(field, out);
    return out;
  };
  const setProblem = (field: FormField, text: string) => {
    const out = messages.get(field);
    if (out) out.textContent = text;
    const control = controls.get(field);
    if (text) control?.setAttribute("aria-invalid", "true");
    else control?.removeAttribute("aria-invalid");
  };
  const check = (field: TextField): boolean => {
    const problem = checkField(field, texts.get(field)?.value ?? "", { touched: touched.has(field) });
    setProblem(field, problem ? problemText(problem, t) : "");
    return problem === null;
  };

  function textField(field: TextField, label: string, extra: { wide?: boolean; decimal?: boolean } = {}) {
    const id = `f-${field}`;
    const describedBy = field === "data" ? `f-data-help ${id}-msg` : `${id}-msg`;
    const attrs = {
      id,
      name: field,
      "aria-describedby": describedBy,
      inputmode: extra.decimal ? "decimal" : null,
    };
    const input =
      field === "data"
        ? h("textarea", { text: DEFAULT_DATA, attrs: { ...attrs, rows: 3 } })
        : h("input", { attrs });
    texts.set(field, input);
    controls.set(field, input);
    input.addEventListener("input", () => check(field));
    input.addEventListener("blur", () => {
      touched.add(field);
      check(field);
    });
    return h(
      "div",
      { className: extra.wide ? "field wide" : "field" },
      h("label", { text: label, attrs: { for: id } }),
      input,
      field === "data" ? dataHelp() : null,
      message(field),
    );
  }

  function choiceField<V extends string>(field: FormField, label: string, options: readonly [V, string][]) {
    const id = `f-${field}`;
    const select = h(
      "select",
      { attrs: { id, name: field } },
      options.map(([value, name]) => h("option", { text: name, attrs: { value } })),
    );
    controls.set(field, select);
    return h(
      "div",
      { className: "field" },
      h("label", { text: label, attrs: { for: id } }),
      select,
      message(field),
    );
  }

  const dataHelp = () =>
    h(
      "p",
      { className: "help", attrs: { id: "f-data-help" } },
      `${t.dataHelp} `,
      PLACEHOLDERS.flatMap((name) => [h("code", { text: `{{${name}}}` }), " "]),
      `; ${t.dataHelpRule}`,
    );

  const onShelf = h("input", {
    attrs: { id: "f-goodsOnShelf", name: "goodsOnShelf", type: "checkbox", checked: true },
  });
  controls.set("goodsOnShelf", onShelf);
  const ignoreQuietHours = h("input", {
    attrs: { id: "f-ignoreQuietHours", name: "ignoreQuietHours", type: "checkbox" },
  });
  const formMsg = h("p", { className: "msg", attrs: { id: "form-msg", role: "alert" } });
  const createButton = h("button", { text: t.createButton, attrs: { type: "submit", id: "create-button" } });
  const form = h(
    "form",
    { attrs: { id: "task-form", novalidate: true }, on: { submit: (e) => void submit(e) } },
    h(
      "div",
      { className: "grid" },
      textField("name", t.labelName),
      choiceField("channel", t.labelChannel, [
        ["template", t.channel.template],
        ["subscribe", t.channel.subscribe],
      ]),
      textField("templateId", t.labelTemplateId),
      textField("templateName", t.labelTemplateName),
      textField("topic", t.labelTopic(TASK_LIMITS.topic)),
      textField("caption", t.labelCaption(TASK_LIMITS.caption)),
      textField("tips", t.labelTips(TASK_LIMITS.tips)),
      textField("page", t.labelPage),
      textField("data", t.labelData, { wide: true }),
      textField("goodsId", t.labelGoodsId),
      textField("goodsTitle", t.labelGoodsTitle),
      textField("goodsPrice", t.labelGoodsPrice, { decimal: true }),
      h(
        "div",
        { className: "field" },
        h("label", { className: "inline" }, onShelf, ` ${t.labelOnShelf}`),
        message("goodsOnShelf"),
      ),
      choiceField("audience", t.labelAudience, [
        ["uploaded", t.audienceUploaded],
        ["all", t.audience.all],
      ]),
      h(
        "div",
        { className: "field" },
        h("label", { className: "inline" }, ignoreQuietHours, ` ${t.labelIgnoreQuietHours}`),
      ),
    ),
    formMsg,
    createButton,
  );

  offerTemplates(texts.get("templateId"), texts.get("templateName"));

  /**
   * The account's templates as suggestions for the template id (fetched once, when the field is
   * first used: the list needs the token); choosing one fills an empty template name with its title.
   */
  function offerTemplates(idInput?: HTMLInputElement | HTMLTextAreaElement, nameInput?: HTMLElement): void {
    if (!(idInput instanceof HTMLInputElement)) return;
    const options = h("datalist", { attrs: { id: "f-templateId-options" } });
    idInput.setAttribute("list", options.id);
    idInput.after(options);
    const titles = new Map<string, string>();
    idInput.addEventListener(
      "focus",
      () =>
        void api
          .listTemplates()
          .then(({ templates }) => {
            for (const tpl of templates) titles.set(tpl.templateId, tpl.title);
            options.replaceChildren(
              ...templates.map((tpl) => h("option", { text: tpl.title, attrs: { value: tpl.templateId } })),
            );
            idInput.title = t.templatesHint(templates.length);
          })
          .catch(() => {
            // No list (WeChat refused, or no token yet): the field still takes any id.
          }),
      { once: true },
    );
    idInput.addEventListener("change", () => {
      const title = titles.get(idInput.value);
      if (title && nameInput instanceof HTMLInputElement && nameInput.value === "") nameInput.value = title;
    });
  }

  function values(): FormValues {
    const value = (field: FormField) => controls.get(field)?.value ?? "";
    const entered = Object.fromEntries([...texts].map(([field, input]) => [field, input.value])) as Record<
      TextField,
      string
    >;
    return {
      text: entered,
      channel: value("channel") === "subscribe" ? "subscribe" : "template",
      audience: value("audience") === "all" ? "all" : "uploaded",
      goodsOnShelf: onShelf.checked,
      ignoreQuietHours: ignoreQuietHours.checked,
    };
  }

  function clear(): void {
    form.reset();
    touched.clear();
    for (const field of messages.keys()) setProblem(field, "");
  }

  async function submit(event: SubmitEvent): Promise<void> {
    event.preventDefault();
    for (const field of texts.keys()) touched.add(field);
    const bad = [...texts.keys()].filter((field) => !check(field));
    if (bad.length > 0) {
      say(formMsg, t.fixFields(bad.length), true);
      texts.get(bad[0] as TextField)?.focus();
      return;
    }
    createButton.disabled = true;
    try {
      const answer = await api.createTask(taskBody(values()));
      clear();
      say(formMsg, t.created(answer.taskId));
      await created(answer.taskId);
    } catch (error) {
      if (isSignedOut(error)) return;
      let rest = errorText(error, t);
      if (error instanceof ApiError && error.status === 400) {
        const placed = placeServerProblems(rest);
        for (const [field, problem] of Object.entries(placed.fields)) setProblem(field as FormField, problem);
        rest = placed.rest.join("; ");
      }
      say(formMsg, t.notCreated + (rest || t.fixMarked), true);
    } finally {
      createButton.disabled = false;
    }
  }

  return h(
    "section",
    { className: "card", attrs: { "aria-labelledby": "create-title" } },
    h("h2", { text: t.formTitle, attrs: { id: "create-title" } }),
    form,
  );
}
