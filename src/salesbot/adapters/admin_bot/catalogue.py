"""Every text the admin bot says, in Russian (the default) and English, in one place.

`Texts(language)("key", **values)` formats one entry. Both languages of an entry take the
same placeholders (a test checks it). Texts are plain: the bot sends no parse mode, so a
prospect's `<`, `*` or `_` arrive as written.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Language = Literal["ru", "en"]
LANGUAGES: tuple[Language, ...] = ("ru", "en")

MESSAGES: dict[str, dict[Language, str]] = {
    # --- general ---------------------------------------------------------------------------
    "internal_error": {
        "ru": "Внутренняя ошибка, записана в журнал как {error_id}.",
        "en": "Internal error, logged as {error_id}.",
    },
    "unknown_command": {
        "ru": "Неизвестная команда {command}. Все команды: /help",
        "en": "Unknown command {command}. Every command: /help",
    },
    "not_a_command": {
        "ru": "Я понимаю только команды. Все команды: /help",
        "en": "I understand commands only. Every command: /help",
    },
    "sent_while_offline": {
        "ru": "Это сообщение пришло, пока бот был остановлен, и я его удалил: вдруг в нём "
        "пароль или код. Перезапуск прерывает команды — если вы были посреди команды "
        "(например, /add_account), начните её заново.",
        "en": "This message arrived while the bot was stopped, so I deleted it in case it "
        "held a password or a code. A restart ends every command under way: if you were in "
        "the middle of one (say /add_account), start it again.",
    },
    "command_interrupted": {
        "ru": "Команду «{command}» прервал перезапуск бота, и я не стал выполнять её ещё "
        "раз: она могла успеть сработать. Проверьте результат и при необходимости "
        "повторите её.",
        "en": "A restart of the bot interrupted the command “{command}”, and I did not run "
        "it again: it may have taken effect. Check the result and repeat it if needed.",
    },
    "login_interrupted": {
        "ru": "Перезапуск бота прервал вход в аккаунт (/add_account). Проверьте /list_accounts "
        "и при необходимости начните вход заново.",
        "en": "A restart of the bot interrupted logging in an account (/add_account). Check "
        "/list_accounts and start the login again if needed.",
    },
    "message_interrupted": {
        "ru": "Перезапуск бота прервал обработку вашего сообщения (не привожу его: там мог "
        "быть код или пароль). Если это был шаг входа в аккаунт (/add_account), вход "
        "прерван — начните его заново; иначе проверьте результат и при необходимости "
        "повторите.",
        "en": "A restart of the bot interrupted handling your message (not quoted: it may "
        "have held a code or a password). If it was a step of logging in an account "
        "(/add_account), the login was interrupted: start it again; otherwise check the "
        "result and repeat it if needed.",
    },
    "cancelled": {"ru": "Отменено.", "en": "Cancelled."},
    "nothing_to_cancel": {"ru": "Отменять нечего.", "en": "There is nothing to cancel."},
    "n_missing": {
        "ru": "Не указан номер диалога. Нужно: {usage}, например: {example}",
        "en": "The dialog number is missing. Expected: {usage}, e.g. {example}",
    },
    "n_not_number": {
        "ru": "«{raw}» — не номер диалога, нужно целое число. Нужно: {usage}, например: {example}",
        "en": "“{raw}” is not a dialog number: expected a whole number. "
        "Expected: {usage}, e.g. {example}",
    },
    "n_extra": {
        "ru": "Лишнее после номера: «{extra}». Нужно: {usage}, например: {example}",
        "en": "Unexpected text after the number: “{extra}”. Expected: {usage}, e.g. {example}",
    },
    "unknown_dialog": {
        "ru": "Диалога {n} нет. Открытые диалоги: /list",
        "en": "There is no dialog {n}. Open dialogs: /list",
    },
    "rate_limited": {
        "ru": "Telegram просит подождать {seconds} с. Попробуйте позже.",
        "en": "Telegram asks to wait {seconds} s. Try again later.",
    },
    "telegram_unavailable": {
        "ru": "Telegram сейчас недоступен ({detail}). Попробуйте позже.",
        "en": "Telegram is unavailable now ({detail}). Try again later.",
    },
    # --- starting and steering dialogs -----------------------------------------------------
    "start_missing": {
        "ru": "Не указан username. Нужно: /start @username [контекст для ИИ], "
        "например: /start @ivan_petrov ищет CRM для отдела продаж",
        "en": "The username is missing. Expected: /start @username [context for the AI], "
        "e.g. /start @ivan_petrov looking for a CRM for the sales team",
    },
    "invalid_username": {
        "ru": "«{raw}» не подходит как username: {reason}. Пример: /start @ivan_petrov",
        "en": "“{raw}” is not a valid username: {reason}. Example: /start @ivan_petrov",
    },
    "already_in_dialog": {
        "ru": "@{username} уже в открытом диалоге {dialog_id}. Посмотреть: /view {dialog_id}",
        "en": "@{username} is already in open dialog {dialog_id}. See it: /view {dialog_id}",
    },
    "already_in_open_dialog": {
        "ru": "@{username} уже в открытом диалоге. Открытые диалоги: /list",
        "en": "@{username} is already in an open dialog. Open dialogs: /list",
    },
    "on_do_not_contact": {
        "ru": "@{username} просил(а) больше не писать и в списке «не беспокоить» — "
        "диалог не начат.",
        "en": "@{username} asked not to be contacted and is on the do-not-contact list — "
        "no dialog was started.",
    },
    "no_account_available": {
        "ru": "Нет аккаунта, который может начать диалог сейчас: все отключены, ограничены, "
        "ждут конца FloodWait, не подключены или исчерпали дневной лимит. Аккаунты: "
        "/list_accounts",
        "en": "No account can start a dialog now: all are disabled, limited, waiting out a "
        "FloodWait, not connected or out of today's quota. Accounts: /list_accounts",
    },
    "recipient_unreachable": {
        "ru": "Не удаётся написать @{username}: {reason}. Диалог не начат.",
        "en": "@{username} cannot be written to: {reason}. No dialog was started.",
    },
    "llm_unavailable": {
        "ru": "ИИ сейчас не отвечает, диалог не начат. Попробуйте через пару минут.",
        "en": "The AI is not answering now; no dialog was started. Try again in a few minutes.",
    },
    "llm_rejected": {
        "ru": "ИИ отказывает ({detail}): проверьте ключ OpenRouter и баланс. Диалог не начат.",
        "en": "The AI refuses ({detail}): check the OpenRouter key and credits. "
        "No dialog was started.",
    },
    "writing_opener": {
        "ru": "Пишу первое сообщение для @{username}… Сообщу здесь, когда будет готово; "
        "другие команды тем временем работают.",
        "en": "Writing the opener for @{username}… I will report here when it is done; "
        "other commands work meanwhile.",
    },
    "dialog_started": {
        "ru": "Диалог {dialog_id} с @{username} начат с аккаунта #{account_id}. "
        "Первое сообщение в очереди:\n\n{opener}",
        "en": "Dialog {dialog_id} with @{username} started from account #{account_id}. "
        "The opener is queued:\n\n{opener}",
    },
    "stopped": {
        "ru": "Диалог {n} с @{username} остановлен. Отменено сообщений в очереди: {cancelled}.",
        "en": "Dialog {n} with @{username} stopped. Queued messages cancelled: {cancelled}.",
    },
    "inbox_button_reply": {"ru": "✍️ Ответить", "en": "✍️ Reply"},
    "inbox_button_resume": {"ru": "🤖 Вернуть ИИ", "en": "🤖 Resume AI"},
    "inbox_button_stop": {"ru": "⛔ Остановить", "en": "⛔ Stop"},
    "inbox_reply_prompt": {
        "ru": "Напишите ответ для диалога {n} ответом на это сообщение (или /say {n} <текст>).",
        "en": "Write the answer for dialog {n} as a reply to this message (or /say {n} <text>).",
    },
    "dialog_started_draft": {
        "ru": "Диалог {dialog_id} с @{username} начат с аккаунта #{account_id}. "
        "Первое сообщение ждёт вашего одобрения (черновик — отдельным сообщением):\n\n{opener}",
        "en": "Dialog {dialog_id} with @{username} started from account #{account_id}. "
        "The opener waits for your approval (the draft comes as its own message):\n\n{opener}",
    },
    "draft_button_approve": {"ru": "✅ Одобрить", "en": "✅ Approve"},
    "draft_button_edit": {"ru": "✏️ Исправить", "en": "✏️ Edit"},
    "draft_button_regen": {"ru": "🔄 Переписать", "en": "🔄 Regenerate"},
    "draft_button_discard": {"ru": "🗑 Выбросить", "en": "🗑 Discard"},
    "draft_edit_prompt": {
        "ru": "Пришлите текст для @{username} (диалог {n}) ответом на это сообщение: он уйдёт "
        "вместо черновика. #edit{message_id}",
        "en": "Send the text for @{username} (dialog {n}) as a reply to this message: it goes "
        "in place of the draft. #edit{message_id}",
    },
    "draft_edit_missing": {
        "ru": "Пустой текст не отправить: ответьте на вопрос текстом сообщения.",
        "en": "An empty text cannot be sent: reply to the question with the message's text.",
    },
    "draft_regenerating": {"ru": "ИИ переписывает черновик…", "en": "The AI rewrites the draft…"},
    "draft_approved": {
        "ru": "Черновик одобрен: аккаунт #{account_id} отправит его @{username} (диалог {n}) с "
        "учётом лимитов и пауз.",
        "en": "Draft approved: account #{account_id} sends it to @{username} (dialog {n}) within "
        "its quota and delays.",
    },
    "draft_edited": {
        "ru": "Ваш текст для @{username} (диалог {n}) в очереди вместо черновика: аккаунт "
        "#{account_id} отправит его с учётом лимитов и пауз.",
        "en": "Your text for @{username} (dialog {n}) is queued in place of the draft: account "
        "#{account_id} sends it within its quota and delays.",
    },
    "draft_rewritten": {
        "ru": "Черновик для @{username} (диалог {n}) переписан: новый придёт отдельным "
        "сообщением, прежний выброшен.",
        "en": "The draft for @{username} (dialog {n}) is rewritten: the new one comes as its own "
        "message, the old one is discarded.",
    },
    "draft_discarded": {
        "ru": "Черновик для @{username} (диалог {n}) выброшен: ничего не отправлено.",
        "en": "The draft for @{username} (dialog {n}) is discarded: nothing was sent.",
    },
    "draft_discarded_opener": {
        "ru": "Первое сообщение для @{username} выброшено: ничего не отправлено, диалог {n} "
        "остановлен. Начать заново: /start @{username}",
        "en": "The opener for @{username} is discarded: nothing was sent, dialog {n} is "
        "stopped. To start again: /start @{username}",
    },
    "draft_not_waiting.approved": {
        "ru": "Этот черновик уже одобрен — второй раз ничего не отправляется.",
        "en": "This draft is approved already — nothing is sent a second time.",
    },
    "draft_not_waiting.superseded": {
        "ru": "Этот черновик заменён: клиент написал снова (новый черновик придёт отдельно), "
        "или диалог поставлен на паузу или остановлен. По нему ничего не отправлено.",
        "en": "This draft was replaced: the prospect wrote again (a new draft comes on its own), "
        "or the dialog was paused or stopped. Nothing of it was sent.",
    },
    "draft_not_waiting.discarded": {
        "ru": "Этот черновик уже выброшен — ничего не отправлено.",
        "en": "This draft is discarded already — nothing was sent.",
    },
    "draft_not_waiting.unknown": {
        "ru": "Такого черновика нет.",
        "en": "There is no such draft.",
    },
    "draft_held": {
        "ru": "Диалог {n} {status}: черновик не отправлен и ждёт. Вернуть ИИ: /resume {n}",
        "en": "Dialog {n} is {status}: the draft was not sent and waits. AI on again: /resume {n}",
    },
    "draft_not_rewritten": {
        "ru": "ИИ не смог переписать черновик ({reason}); прежний черновик ждёт.",
        "en": "The AI could not rewrite the draft ({reason}); the previous draft waits.",
    },
    "review_on": {
        "ru": "Диалог {n} с @{username}: сообщения ИИ теперь ждут вашего одобрения.",
        "en": "Dialog {n} with @{username}: the AI's messages now wait for your approval.",
    },
    "review_off": {
        "ru": "Диалог {n} с @{username}: ИИ снова отправляет сам, без одобрения.",
        "en": "Dialog {n} with @{username}: the AI sends by itself again, without approval.",
    },
    "review_switch_missing": {
        "ru": "Укажите on или off: {usage}",
        "en": "Say on or off: {usage}",
    },
    "reply_to_notice_ambiguous": {
        "ru": "Это уведомление о нескольких диалогах ({numbers}): ответьте командой "
        "/say N <текст>.",
        "en": "That notice is about several dialogs ({numbers}): answer with /say N <text>.",
    },
    "closed_lost": {
        "ru": "Диалог {n} с @{username} закрыт: {outcome}. Клиенту ничего не отправлено; "
        "отменено сообщений в очереди: {cancelled}.",
        "en": "Dialog {n} with @{username} closed: {outcome}. Nothing was sent to the prospect; "
        "queued messages cancelled: {cancelled}.",
    },
    "close_reason_missing": {
        "ru": "Укажите причину: rejected (отказ) или not_qualified (не_подходит). Формат: {usage}",
        "en": "Say why: rejected or not_qualified. Usage: {usage}",
    },
    "close_reason_unknown": {
        "ru": "Причина «{raw}» непонятна: нужна rejected (отказ) или not_qualified "
        "(не_подходит). Формат: {usage}",
        "en": "«{raw}» is not a reason I know: use rejected or not_qualified. Usage: {usage}",
    },
    "paused": {
        "ru": "Диалог {n} с @{username} на паузе: ИИ не пишет (отменено его сообщений в "
        "очереди: {cancelled}). Написать самому: /say {n} <текст>; вернуть ИИ: /resume {n}",
        "en": "Dialog {n} with @{username} paused: the AI stays silent (its queued messages "
        "cancelled: {cancelled}). Write yourself: /say {n} <text>; AI back on: /resume {n}",
    },
    "resumed": {
        "ru": "ИИ снова ведёт диалог {n} с @{username}.",
        "en": "The AI leads dialog {n} with @{username} again.",
    },
    "already": {"ru": "Диалог {n} уже {status}.", "en": "Dialog {n} is already {status}."},
    "cannot": {
        "ru": "Диалог {n} {status} — {action} его нельзя.",
        "en": "Dialog {n} is {status} — it cannot be {action}.",
    },
    "say_missing": {
        "ru": "Нет текста. Нужно: /say N <текст>, например: {example}",
        "en": "The text is missing. Expected: /say N <text>, e.g. {example}",
    },
    "say_example": {
        "ru": "/say 12 Добрый день! Удобно созвониться завтра в 11?",
        "en": "/say 12 Good afternoon! Does a call tomorrow at 11 suit you?",
    },
    "say_queued": {
        "ru": "Сообщение для @{username} (диалог {n}) в очереди: аккаунт #{account_id} "
        "отправит его, выдержав паузу между своими сообщениями; дневной лимит его не "
        "задерживает.",
        "en": "Message to @{username} (dialog {n}) queued: account #{account_id} sends it "
        "after the pause between its messages; the daily limit does not hold it back.",
    },
    "say_queued_behind": {
        "ru": " Перед ним в очереди этого диалога сообщений: {count} — оно уйдёт после них.",
        "en": " Ahead of it in this dialog's queue: {count}; it goes after them.",
    },
    "dialog_closed": {
        "ru": "Диалог {n} {status} — писать в него нельзя. Новый диалог: /start @username",
        "en": "Dialog {n} is {status} — nothing can be written in it. "
        "A new dialog: /start @username",
    },
    # --- do not contact -------------------------------------------------------------------
    "dnc_empty": {
        "ru": "Список «не беспокоить» пуст. Добавить: /dnc_add @username [причина]",
        "en": "The do-not-contact list is empty. Add someone: /dnc_add @username [reason]",
    },
    "dnc_header": {
        "ru": "Не беспокоить: {total} (стр. {page}/{pages}), сначала новые:",
        "en": "Do not contact: {total} (page {page}/{pages}), latest added first:",
    },
    "dnc_row": {
        "ru": "{who} — {reason}, {added}{dialog}",
        "en": "{who} — {reason}, {added}{dialog}",
    },
    "dnc_who_id": {"ru": "id {user_id}", "en": "id {user_id}"},
    "dnc_no_reason": {"ru": "причина не указана", "en": "no reason given"},
    "dnc_row_dialog": {"ru": ", диалог {n}", "en": ", dialog {n}"},
    "dnc_username_missing": {
        "ru": "Не указан username. Нужно: {usage}, например: {example}",
        "en": "The username is missing. Expected: {usage}, e.g. {example}",
    },
    "dnc_invalid_username": {
        "ru": "«{raw}» не подходит как username: {reason}. Нужно: {usage}, например: {example}",
        "en": "“{raw}” is not a valid username: {reason}. Expected: {usage}, e.g. {example}",
    },
    "dnc_add_example": {
        "ru": "/dnc_add @ivan_petrov просил не писать",
        "en": "/dnc_add @ivan_petrov asked not to be written to",
    },
    "dnc_remove_example": {"ru": "/dnc_remove @ivan_petrov", "en": "/dnc_remove @ivan_petrov"},
    "dnc_extra": {
        "ru": "Лишнее в конце: «{extra}». Нужно: {usage}",
        "en": "Unexpected text at the end: “{extra}”. Expected: {usage}",
    },
    "dnc_added": {
        "ru": "@{username} в списке «не беспокоить»: ни один аккаунт не начнёт с ним(ней) "
        "диалог и не напишет напоминание. Убрать: /dnc_remove @{username}",
        "en": "@{username} is on the do-not-contact list: no account starts a dialog with "
        "them or follows up. Take them off: /dnc_remove @{username}",
    },
    "dnc_added_open_dialog": {
        "ru": "Диалог {n} с @{username} ещё открыт — остановить: /stop {n}",
        "en": "Dialog {n} with @{username} is still open — stop it: /stop {n}",
    },
    "dnc_already": {
        "ru": "@{username} уже в списке «не беспокоить». Весь список: /dnc",
        "en": "@{username} is on the do-not-contact list already. The whole list: /dnc",
    },
    "dnc_not_listed": {
        "ru": "{who} нет в списке «не беспокоить». Весь список: /dnc",
        "en": "{who} is not on the do-not-contact list. The whole list: /dnc",
    },
    "dnc_remove_ask": {
        "ru": "Убрать {who} из списка «не беспокоить»? После этого с ним(ней) снова можно "
        "начать диалог.",
        "en": "Take {who} off the do-not-contact list? Dialogs with them can be started "
        "again then.",
    },
    "dnc_remove_yes": {"ru": "🗑 Убрать", "en": "🗑 Take off"},
    "dnc_remove_no": {"ru": "Отмена", "en": "Cancel"},
    "dnc_removed": {
        "ru": "{who} убран(а) из списка «не беспокоить»: с ним(ней) снова можно начать "
        "диалог (/start).",
        "en": "{who} is off the do-not-contact list: a dialog can be started again (/start).",
    },
    "dnc_kept": {
        "ru": "{who} остаётся в списке «не беспокоить».",
        "en": "{who} stays on the do-not-contact list.",
    },
    # --- campaigns -------------------------------------------------------------------------
    "campaign_n_missing": {
        "ru": "Не указан номер кампании. Нужно: {usage}, например: {example}",
        "en": "The campaign number is missing. Expected: {usage}, e.g. {example}",
    },
    "campaign_n_not_number": {
        "ru": "«{raw}» — не номер кампании, нужно целое число. Нужно: {usage}, например: "
        "{example}",
        "en": "“{raw}” is not a campaign number: expected a whole number. "
        "Expected: {usage}, e.g. {example}",
    },
    "campaign_n_extra": {
        "ru": "Лишнее после номера: «{extra}». Нужно: {usage}, например: {example}",
        "en": "Unexpected text after the number: “{extra}”. Expected: {usage}, e.g. {example}",
    },
    "unknown_campaign": {
        "ru": "Кампании {n} нет. Все кампании: /campaigns",
        "en": "There is no campaign {n}. Every campaign: /campaigns",
    },
    "campaigns_empty": {
        "ru": "Кампаний пока нет. Создать: /campaign_new",
        "en": "There are no campaigns yet. Create one: /campaign_new",
    },
    "campaigns_header": {
        "ru": "Кампании: {total} (стр. {page}/{pages}), сначала новые:",
        "en": "Campaigns: {total} (page {page}/{pages}), newest first:",
    },
    "campaigns_row": {
        "ru": "{n}. «{name}» — {status}: в очереди {queued}, начато {started}, пропущено "
        "{skipped} из {total}; ответили {replied}, цель {goal}",
        "en": "{n}. “{name}” — {status}: queued {queued}, started {started}, skipped "
        "{skipped} of {total}; replied {replied}, goal {goal}",
    },
    "campaigns_footer": {
        "ru": "Воронка кампании: /campaign N",
        "en": "A campaign's funnel: /campaign N",
    },
    "campaign_title": {
        "ru": "Кампания {n} «{name}» — {status}, {script}",
        "en": "Campaign {n} “{name}” — {status}, {script}",
    },
    "campaign_own_script": {"ru": "свой сценарий", "en": "its own script"},
    "campaign_global_script": {"ru": "общий сценарий", "en": "the global script"},
    "campaign_leads": {
        "ru": "Лиды: {total} — в очереди {queued}, запускаются {starting}, начато {started}, "
        "пропущено {skipped}",
        "en": "Leads: {total} — queued {queued}, starting {starting}, started {started}, "
        "skipped {skipped}",
    },
    "campaign_funnel": {
        "ru": "начато {started} · ответили {replied} ({reply_rate}) · цель {goal} ({goal_rate}) "
        "· передано человеку {handoff} · отказ {rejected} · отписались {opted_out} · "
        "не удалось {failed}",
        "en": "started {started} · replied {replied} ({reply_rate}) · goal {goal} ({goal_rate}) "
        "· handed off {handoff} · rejected {rejected} · opted out {opted_out} · "
        "failed {failed}",
    },
    "campaign_overall": {"ru": "Всего: {funnel}", "en": "Overall: {funnel}"},
    "campaign_variants": {"ru": "По вариантам первого сообщения:", "en": "Per opener variant:"},
    "campaign_variant": {"ru": "{i}. «{text}»: {funnel}", "en": "{i}. “{text}”: {funnel}"},
    "campaign_skipped": {"ru": "Пропущены:", "en": "Skipped:"},
    "campaign_skip_reason": {"ru": "— {reason}: {count}", "en": "— {reason}: {count}"},
    "campaign_no_reason": {"ru": "причина не указана", "en": "no reason given"},
    # Why the feeder skipped a lead (domain/campaign.py SkipReason), as /campaign N says it.
    "skip_do_not_contact": {
        "ru": "в списке «не беспокоить»",
        "en": "on the do-not-contact list",
    },
    "skip_already_in_dialog": {"ru": "уже в диалоге", "en": "already in a dialog"},
    "skip_invalid_username": {"ru": "неверный username", "en": "invalid username"},
    "skip_not_found": {
        "ru": "username не найден в Telegram",
        "en": "username not found on Telegram",
    },
    "skip_privacy": {
        "ru": "настройки приватности не дают написать",
        "en": "their privacy settings forbid writing",
    },
    "skip_opener_refused": {
        "ru": "первое сообщение не прошло проверку",
        "en": "the opener failed the check",
    },
    "skip_deactivated": {"ru": "аккаунт удалён", "en": "the account is deleted"},
    "campaign_hints": {
        "ru": "Ответили — от начатых, цель — от начатых. Пауза: /campaign_pause {n} · "
        "Выгрузка: /campaign_export {n}",
        "en": "Reply and goal rates are of the started. Pause: /campaign_pause {n} · "
        "Export: /campaign_export {n}",
    },
    "campaign_paused": {
        "ru": "Кампания {n} «{name}» на паузе: новые диалоги не начинаются, начатые идут "
        "дальше. Продолжить: /campaign_resume {n}",
        "en": "Campaign {n} “{name}” is paused: no new dialog is started, those started go "
        "on. Resume: /campaign_resume {n}",
    },
    "campaign_resumed": {
        "ru": "Кампания {n} «{name}» снова идёт: лиды из очереди начинаются, когда у "
        "аккаунтов есть место.",
        "en": "Campaign {n} “{name}” runs again: queued leads are started as the accounts "
        "have room.",
    },
    "campaign_already_paused": {
        "ru": "Кампания {n} «{name}» уже на паузе. Продолжить: /campaign_resume {n}",
        "en": "Campaign {n} “{name}” is paused already. Resume: /campaign_resume {n}",
    },
    "campaign_already_active": {
        "ru": "Кампания {n} «{name}» и так идёт. Поставить на паузу: /campaign_pause {n}",
        "en": "Campaign {n} “{name}” is running already. Pause it: /campaign_pause {n}",
    },
    "campaign_is_stopped": {
        "ru": "Кампания {n} «{name}» остановлена навсегда — её нельзя {action}. Начатые "
        "диалоги идут дальше; новая кампания: /campaign_new",
        "en": "Campaign {n} “{name}” is stopped for good: it cannot be {action}. The dialogs "
        "it started go on; a new campaign: /campaign_new",
    },
    "campaign_stop_ask": {
        "ru": "Остановить кампанию {n} «{name}» навсегда? Лиды в очереди ({queued}) не будут "
        "начаты, и это не отменить; начатые диалоги ({started}) идут дальше. Только "
        "приостановить: /campaign_pause {n}",
        "en": "Stop campaign {n} “{name}” for good? The queued leads ({queued}) will never be "
        "started, and this cannot be undone; the dialogs started ({started}) go on. To "
        "pause only: /campaign_pause {n}",
    },
    "campaign_stop_yes": {"ru": "⏹ Остановить навсегда", "en": "⏹ Stop for good"},
    "campaign_stop_no": {"ru": "Отмена", "en": "Cancel"},
    "campaign_stopped": {
        "ru": "Кампания {n} «{name}» остановлена навсегда: лиды в очереди не будут начаты, "
        "начатые диалоги идут дальше.",
        "en": "Campaign {n} “{name}” is stopped for good: the queued leads will not be "
        "started, the dialogs started go on.",
    },
    "campaign_kept": {
        "ru": "Кампания {n} «{name}» не остановлена.",
        "en": "Campaign {n} “{name}” is not stopped.",
    },
    "campaign_export_caption": {
        "ru": "Кампания {n} «{name}»: лидов {leads}, CSV для CRM",
        "en": "Campaign {n} “{name}”: {leads} leads, a CSV for a CRM",
    },
    # --- looking at dialogs ----------------------------------------------------------------
    "list_empty": {
        "ru": "Открытых диалогов нет. Начать: /start @username",
        "en": "No open dialogs. Start one: /start @username",
    },
    "list_header": {
        "ru": "Открытые диалоги: {total} (стр. {page}/{pages}), сначала свежие:",
        "en": "Open dialogs: {total} (page {page}/{pages}), newest activity first:",
    },
    "list_row": {
        "ru": "{n}. @{username} — {status}, этап: {stage}, теплота {warmth}/100, {last}",
        "en": "{n}. @{username} — {status}, stage: {stage}, warmth {warmth}/100, {last}",
    },
    "list_prev": {"ru": "◀ Назад", "en": "◀ Back"},
    "list_next": {"ru": "Вперёд ▶", "en": "Next ▶"},
    "transcript_header": {
        "ru": "Диалог {n}\nКлиент: @{username}{user_id}\nАккаунт: {account}\n"
        "Статус: {status}{reason}\nЭтап: {stage}, теплота {warmth}/100\n"
        "Начат: {created}\nПоследняя активность: {last}",
        "en": "Dialog {n}\nProspect: @{username}{user_id}\nAccount: {account}\n"
        "Status: {status}{reason}\nStage: {stage}, warmth {warmth}/100\n"
        "Started: {created}\nLast activity: {last}",
    },
    "transcript_user_id": {"ru": " (id {user_id})", "en": " (id {user_id})"},
    "transcript_context": {
        "ru": "Контекст для ИИ: {context}",
        "en": "Context for the AI: {context}",
    },
    "transcript_summary": {"ru": "Итог: {summary}", "en": "Summary: {summary}"},
    "transcript_spend": {
        "ru": "Расход ИИ: вход {prompt} ток. (из кэша {cached}), выход {completion} ток., ${cost}",
        "en": "AI spend: {prompt} tokens in ({cached} cached), {completion} out, ${cost}",
    },
    "transcript_exported": {"ru": "Экспорт: {now}", "en": "Exported: {now}"},
    "transcript_empty": {"ru": "Сообщений пока нет.", "en": "No messages yet."},
    "line": {"ru": "[{time}] {who}{mark}: {text}", "en": "[{time}] {who}{mark}: {text}"},
    "who_us": {"ru": "мы", "en": "us"},
    "mark_pending": {"ru": " (в очереди)", "en": " (queued)"},
    "mark_sending": {"ru": " (отправляется)", "en": " (sending)"},
    "mark_failed": {"ru": " (не доставлено)", "en": " (not delivered)"},
    "mark_manual": {"ru": " (вручную)", "en": " (by hand)"},
    "mark_draft": {"ru": " (черновик, ждёт одобрения)", "en": " (draft, awaiting approval)"},
    "mark_discarded": {"ru": " (черновик выброшен)", "en": " (draft discarded)"},
    "never": {"ru": "—", "en": "—"},
    # --- exports ---------------------------------------------------------------------------
    "export_caption": {"ru": "Диалог {n} с @{username}", "en": "Dialog {n} with @{username}"},
    "export_all_empty": {
        "ru": "Диалогов пока нет — экспортировать нечего.",
        "en": "There are no dialogs yet — nothing to export.",
    },
    "export_all_caption": {
        "ru": "Все диалоги: {dialogs}. Часть {part} из {parts}.",
        "en": "Every dialog: {dialogs}. Part {part} of {parts}.",
    },
    "export_progress": {
        "ru": "⏳ Экспорт: готово диалогов {done} из {total}…",
        "en": "⏳ Exporting: {done} of {total} dialogs done…",
    },
    "export_progress_sending": {
        "ru": "⏳ Экспорт: диалогов {dialogs}, отправлено частей {sent} из {parts}…",
        "en": "⏳ Exporting: {dialogs} dialogs, {sent} of {parts} parts sent…",
    },
    "export_progress_done": {
        "ru": "✅ Экспорт готов: диалогов {dialogs}, частей {parts}.",
        "en": "✅ Export done: {dialogs} dialogs in {parts} parts.",
    },
    "export_progress_failed": {
        "ru": "❌ Экспорт прервался: готово диалогов {done} из {total}, отправлено частей "
        "{sent}. Причина записана в журнал.",
        "en": "❌ The export stopped: {done} of {total} dialogs done, {sent} parts sent. The "
        "cause is in the log.",
    },
    # --- accounts --------------------------------------------------------------------------
    "add_account_missing": {
        "ru": "Не указан телефон. Нужно: /add_account <телефон> [прокси], например: "
        "/add_account +79001234567 или /add_account +79001234567 socks5://user:pass@1.2.3.4:1080",
        "en": "The phone is missing. Expected: /add_account <phone> [proxy], e.g. "
        "/add_account +79001234567 or /add_account +79001234567 socks5://user:pass@1.2.3.4:1080",
    },
    "add_account_extra": {
        "ru": "Лишнее после прокси: «{extra}». Нужно: /add_account <телефон> [прокси], "
        "например: /add_account +79001234567",
        "en": "Unexpected text after the proxy: “{extra}”. Expected: /add_account <phone> "
        "[proxy], e.g. /add_account +79001234567",
    },
    "phone_missing": {
        "ru": "Не указан телефон. Нужно: {usage}, например: {example}",
        "en": "The phone is missing. Expected: {usage}, e.g. {example}",
    },
    "invalid_phone": {
        "ru": "«{raw}» не похож на номер телефона: {reason}. Пример: +79001234567",
        "en": "“{raw}” is not a phone number: {reason}. Example: +79001234567",
    },
    "invalid_proxy": {
        "ru": "«{raw}» не похож на прокси. Нужно: схема://[логин:пароль@]хост:порт, "
        "например socks5://user:pass@1.2.3.4:1080 (схемы: socks5, socks4, http)",
        "en": "“{raw}” is not a proxy. Expected scheme://[user:password@]host:port, "
        "e.g. socks5://user:pass@1.2.3.4:1080 (schemes: socks5, socks4, http)",
    },
    "code_sent": {
        "ru": "Код отправлен в Telegram на {phone}. Пришлите его с пробелами между цифрами, "
        "например 1 2 3 4 5 — код, присланный одним числом, Telegram сразу аннулирует. "
        "Отмена: /cancel",
        "en": "Telegram sent a code to {phone}. Send it with spaces between the digits, "
        "e.g. 1 2 3 4 5 — Telegram voids a code sent as one number. Cancel: /cancel",
    },
    "code_no_digits": {
        "ru": "В сообщении нет цифр кода. Пришлите код с пробелами, например 1 2 3 4 5, "
        "или /cancel",
        "en": "There are no code digits in that message. Send the code with spaces, "
        "e.g. 1 2 3 4 5, or /cancel",
    },
    "code_invalid": {
        "ru": "Код неверный. Пришлите его ещё раз с пробелами, например 1 2 3 4 5, или /cancel",
        "en": "Wrong code. Send it again with spaces, e.g. 1 2 3 4 5, or /cancel",
    },
    "code_expired": {
        "ru": "Код истёк. Начните заново: /add_account {phone}",
        "en": "The code expired. Start again: /add_account {phone}",
    },
    "password_needed": {
        "ru": "На аккаунте включена двухэтапная проверка. Пришлите пароль — сообщение с ним "
        "я удалю сразу после прочтения. Отмена: /cancel",
        "en": "The account has two-step verification. Send the password — I delete the "
        "message holding it right after reading it. Cancel: /cancel",
    },
    "password_invalid": {
        "ru": "Пароль неверный. Пришлите его ещё раз или /cancel",
        "en": "Wrong password. Send it again or /cancel",
    },
    "account_added": {
        "ru": "Аккаунт {phone} добавлен (#{account_id}).",
        "en": "Account {phone} added (#{account_id}).",
    },
    "login_cancelled": {"ru": "Вход для {phone} отменён.", "en": "Login for {phone} cancelled."},
    "phone_rejected": {
        "ru": "Telegram не принимает номер {phone}. Проверьте его: /add_account +79001234567",
        "en": "Telegram does not accept the number {phone}. Check it: /add_account +79001234567",
    },
    "phone_banned": {
        "ru": "Номер {phone} заблокирован в Telegram.",
        "en": "The number {phone} is banned by Telegram.",
    },
    "no_login": {
        "ru": "Вход для {phone} не начат или уже завершён. Начните заново: /add_account {phone}",
        "en": "No login for {phone} is in progress. Start again: /add_account {phone}",
    },
    "login_failed": {
        "ru": "Вход для {phone} не удался: {detail}",
        "en": "Login for {phone} failed: {detail}",
    },
    "duplicate_account": {
        "ru": "Аккаунт {phone} уже добавлен. Все аккаунты: /list_accounts",
        "en": "Account {phone} exists already. Every account: /list_accounts",
    },
    "unknown_account": {
        "ru": "Аккаунта {phone} нет. Все аккаунты: /list_accounts",
        "en": "There is no account {phone}. Every account: /list_accounts",
    },
    "account_disabled": {
        "ru": "Аккаунт {phone} отключён. Включить: /enable_account {phone}",
        "en": "Account {phone} disabled. Enable it: /enable_account {phone}",
    },
    "account_needs_login": {
        "ru": "Аккаунт {phone} вышел из сессии — вернуть его можно только новым входом: "
        "/add_account {phone}",
        "en": "Account {phone} is logged out — only a new login brings it back: "
        "/add_account {phone}",
    },
    "account_enabled": {"ru": "Аккаунт {phone} включён.", "en": "Account {phone} enabled."},
    "account_cannot": {
        "ru": "Аккаунт {phone} {status} — {action} его нельзя.",
        "en": "Account {phone} is {status} — it cannot be {action}.",
    },
    "accounts_empty": {
        "ru": "Аккаунтов нет. Добавить: /add_account +79001234567",
        "en": "No accounts. Add one: /add_account +79001234567",
    },
    "accounts_header": {"ru": "Аккаунты: {count}", "en": "Accounts: {count}"},
    "account_row": {
        "ru": "#{id} {phone} — {status}{limited}\n   сегодня {sent}/{limit}, следующий слот: "
        "{next}, активных диалогов: {dialogs}{proxy}",
        "en": "#{id} {phone} — {status}{limited}\n   today {sent}/{limit}, next free slot: "
        "{next}, active dialogs: {dialogs}{proxy}",
    },
    "account_limited_until": {"ru": " до {until}", "en": " until {until}"},
    "account_flood_wait": {
        "ru": ", FloodWait до {until}",
        "en": ", FloodWait until {until}",
    },
    "account_proxy": {"ru": ", через прокси", "en": ", via proxy"},
    # --- /check_account (asks @SpamBot) ------------------------------------------------------
    "check_free": {
        "ru": "✅ {phone}: по словам @SpamBot, аккаунт свободен — ограничений нет.",
        "en": "✅ {phone}: @SpamBot says the account is free — no limits.",
    },
    "check_limited_until": {
        "ru": "⛔ {phone}: по словам @SpamBot, аккаунт ограничен до {until}.",
        "en": "⛔ {phone}: @SpamBot says the account is limited until {until}.",
    },
    "check_limited": {
        "ru": "⛔ {phone}: по словам @SpamBot, аккаунт ограничен, срок не назван. Его ответ:\n"
        "{text}",
        "en": "⛔ {phone}: @SpamBot says the account is limited, with no end date. Its answer:\n"
        "{text}",
    },
    "check_unknown": {
        "ru": "❓ {phone}: не удалось понять ответ @SpamBot:\n{text}",
        "en": "❓ {phone}: couldn't tell what @SpamBot means. Its answer:\n{text}",
    },
    "check_not_connected": {
        "ru": "Аккаунт {phone} сейчас не подключён здесь — спросить @SpamBot не через что. "
        "Состояние: /list_accounts",
        "en": "Account {phone} is not connected here now, so @SpamBot cannot be asked from it. "
        "Status: /list_accounts",
    },
    "check_no_answer": {
        "ru": "Не удалось спросить @SpamBot с аккаунта {phone} ({detail}). Попробуйте позже.",
        "en": "Could not ask @SpamBot from account {phone} ({detail}). Try again later.",
    },
    "now": {"ru": "сейчас", "en": "now"},
    # --- the sales script ------------------------------------------------------------------
    "prompt_current": {
        "ru": "Текущий сценарий продаж ({chars} символов):\n\n{text}",
        "en": "The current sales script ({chars} characters):\n\n{text}",
    },
    "set_prompt_ask": {
        "ru": "Пришлите новый сценарий продаж текстом или файлом .txt (UTF-8). Отмена: /cancel",
        "en": "Send the new sales script as text or as a .txt file (UTF-8). Cancel: /cancel",
    },
    "prompt_saved": {
        "ru": "Сценарий продаж заменён ({chars} символов). ИИ пишет по нему с этого момента.",
        "en": "Sales script replaced ({chars} characters). The AI writes by it from now on.",
    },
    "prompt_not_txt": {
        "ru": "Нужен файл .txt в UTF-8, а пришёл «{name}».",
        "en": "Expected a .txt file in UTF-8, got “{name}”.",
    },
    "prompt_not_utf8": {
        "ru": "Файл «{name}» не в кодировке UTF-8 — сохраните его в UTF-8 и пришлите снова.",
        "en": "The file “{name}” is not UTF-8 — save it as UTF-8 and send it again.",
    },
    "prompt_too_big": {
        "ru": "Файл «{name}» слишком большой: {size} КБ, а сценарий — до {limit} КБ.",
        "en": "The file “{name}” is too large: {size} KB; a script takes up to {limit} KB.",
    },
    "prompt_too_long": {
        "ru": "Сценарий слишком длинный: {chars} символов, а помещается до {limit}. "
        "Сократите его и пришлите снова.",
        "en": "The script is too long: {chars} characters; up to {limit} fit. "
        "Shorten it and send it again.",
    },
    "prompt_unavailable": {
        "ru": "Сценария нет: {detail}. Задайте его: /set_prompt",
        "en": "There is no sales script: {detail}. Set one: /set_prompt",
    },
    "prompt_blank": {
        "ru": "Сценарий пустой. Пришлите текст сценария или файл .txt. Отмена: /cancel",
        "en": "The script is empty. Send the script's text or a .txt file. Cancel: /cancel",
    },
    # --- statistics ------------------------------------------------------------------------
    "stats": {
        "ru": "Сегодня (с {since}):\n{today}\n\nЗа всё время:\n{all_time}\n\n"
        "Диалоги: активных {active}, на паузе {paused}, остановлено {stopped}, "
        "завершено {finished}, отписались {opted_out}, не удались {failed}",
        "en": "Today (since {since}):\n{today}\n\nAll time:\n{all_time}\n\n"
        "Dialogs: active {active}, paused {paused}, stopped {stopped}, finished {finished}, "
        "opted out {opted_out}, failed {failed}",
    },
    "stats_line": {
        "ru": "{who}: первых сообщений {openers}, ответили {replied} (сообщений {received}), "
        "доля ответов {rate}, целей {goals}, отказов {rejected}, не подходят {not_qualified}, "
        "отписок {opt_outs}",
        "en": "{who}: openers sent {openers}, replied {replied} (messages {received}), "
        "reply rate {rate}, goals {goals}, declined {rejected}, not qualified {not_qualified}, "
        "opt-outs {opt_outs}",
    },
    "stats_total": {"ru": "Всего", "en": "Total"},
    "stats_spend": {"ru": "Расход ИИ за всё время:", "en": "AI spend, all time:"},
    "stats_spend_line": {
        "ru": "{who}: вход {prompt} ток. (из кэша {cached}), выход {completion} ток., ${cost}",
        "en": "{who}: {prompt} tokens in ({cached} cached), {completion} out, ${cost}",
    },
    "stats_no_rate": {"ru": "—", "en": "—"},
    "stats_chart_caption": {
        "ru": "Последние {days} дней: всего по дням и по аккаунтам.",
        "en": "The last {days} days: in total per day, and per account.",
    },
    "stats_chart_empty": {
        "ru": "За последние {days} дней нет ни отправленных сообщений, ни ответов, ни целей: "
        "графику нечего показать.",
        "en": "No messages sent, no replies and no goals in the last {days} days: "
        "nothing to chart.",
    },
    "stats_chart_daily": {
        "ru": "Всего по дням (последние {days} дней)",
        "en": "In total, per day (the last {days} days)",
    },
    "stats_chart_accounts": {
        "ru": "По аккаунтам за {days} дней",
        "en": "Per account, the last {days} days",
    },
    "stats_chart_count": {"ru": "Количество", "en": "Count"},
    "stats_chart_day": {"ru": "{day:%d.%m}", "en": "{day:%b %d}"},
    "stats_chart_sent": {"ru": "Отправлено", "en": "Sent"},
    "stats_chart_replies": {"ru": "Ответы", "en": "Replies"},
    "stats_chart_goals": {"ru": "Цели", "en": "Goals"},
    "stats_chart_others": {"ru": "Остальные ({count})", "en": "Others ({count})"},
    # --- notices ---------------------------------------------------------------------------
    "notices_header": {"ru": "Уведомления: {count}", "en": "Notices: {count}"},
    "event_replied": {
        "ru": "💬 @{username} ответил(а) в диалоге {dialog_id}:\n{text}\n"
        "Посмотреть: /view {dialog_id}",
        "en": "💬 @{username} replied in dialog {dialog_id}:\n{text}\nSee it: /view {dialog_id}",
    },
    "event_inbox": {
        "ru": "📨 @{username} пишет в диалоге {dialog_id} (аккаунт #{account_id}), ИИ не "
        "отвечает ({status}):\n{text}\nОтветить: /say {dialog_id} <текст> · вернуть ИИ: "
        "/resume {dialog_id}",
        "en": "📨 @{username} wrote in dialog {dialog_id} (account #{account_id}); the AI is "
        "not answering ({status}):\n{text}\nAnswer: /say {dialog_id} <text> · AI back on: "
        "/resume {dialog_id}",
    },
    "event_inbox_closed": {
        "ru": "📨 @{username} написал(а) в закрытом диалоге {dialog_id} (аккаунт #{account_id}, "
        "{status}):\n{text}\nПосмотреть: /view {dialog_id}",
        "en": "📨 @{username} wrote in closed dialog {dialog_id} (account #{account_id}, "
        "{status}):\n{text}\nSee it: /view {dialog_id}",
    },
    "event_media_not_seen": {
        "ru": "(вложение: ИИ видит только его описание в скобках; само оно — в чате Telegram)",
        "en": "(an attachment: the AI sees only its description in brackets; the file itself "
        "is in the Telegram chat)",
    },
    "event_media_transcribed": {
        "ru": "(голосовое распознано автоматически: возможны ошибки распознавания)",
        "en": "(the voice message was transcribed automatically: it may hold recognition mistakes)",
    },
    "event_goal": {
        "ru": "🎯 Цель достигнута в диалоге {dialog_id} с @{username}:\n{summary}",
        "en": "🎯 Goal reached in dialog {dialog_id} with @{username}:\n{summary}",
    },
    "event_handoff": {
        "ru": "🙋 Диалог {dialog_id} с @{username} пора передать человеку:\n{summary}\n"
        "Написать самому: /say {dialog_id} <текст>",
        "en": "🙋 Dialog {dialog_id} with @{username} needs a human:\n{summary}\n"
        "Write yourself: /say {dialog_id} <text>",
    },
    "event_lost": {
        "ru": "📉 Диалог {dialog_id} с @{username} закрыт: {outcome}. Клиенту ушло вежливое "
        "прощание, больше ИИ не пишет.\n{summary}",
        "en": "📉 Dialog {dialog_id} with @{username} is closed: {outcome}. The prospect got a "
        "polite goodbye; the AI writes no more.\n{summary}",
    },
    "event_opted_out": {
        "ru": "🚫 @{username} попросил(а) больше не писать: диалог {dialog_id} закрыт, "
        "контакт в списке «не беспокоить».",
        "en": "🚫 @{username} asked not to be contacted: dialog {dialog_id} is closed and "
        "the contact is on the do-not-contact list.",
    },
    "event_failed": {
        "ru": "⚠️ Диалог {dialog_id} с @{username} не удался: {reason}",
        "en": "⚠️ Dialog {dialog_id} with @{username} failed: {reason}",
    },
    "event_paused": {
        "ru": "⏸ Диалог {dialog_id} с @{username} на паузе: {reason}. "
        "Вернуть ИИ: /resume {dialog_id}",
        "en": "⏸ Dialog {dialog_id} with @{username} paused: {reason}. "
        "AI back on: /resume {dialog_id}",
    },
    "event_draft": {
        "ru": "📝 Черновик ИИ для @{username} (диалог {dialog_id}, аккаунт #{account_id}, "
        "{kind}) — не отправлен:\n\n{text}\n\nОдобрить, исправить, переписать или выбросить? "
        "Ответ на это сообщение — указание, с которым ИИ перепишет черновик. #draft{message_id}",
        "en": "📝 The AI's draft for @{username} (dialog {dialog_id}, account #{account_id}, "
        "{kind}) — not sent:\n\n{text}\n\nApprove, edit, regenerate or discard? A reply to "
        "this message is an instruction the AI rewrites the draft with. #draft{message_id}",
    },
    "event_draft_answering": {
        "ru": "@{username} пишет: «{said}»",
        "en": "@{username} writes: “{said}”",
    },
    "event_paused_draft": {
        "ru": "Черновик ИИ (не отправлен): «{draft}»\nНаписать самому: /say {dialog_id} <текст>",
        "en": "The AI's draft (not sent): «{draft}»\nWrite yourself: /say {dialog_id} <text>",
    },
    "event_limited": {
        "ru": "⛔ Telegram ограничил аккаунт {phone} (#{account_id}) до {until}.",
        "en": "⛔ Telegram limited account {phone} (#{account_id}) until {until}.",
    },
    "event_flood_wait": {
        "ru": "⏳ Telegram велел аккаунту {phone} (#{account_id}) подождать (FloodWait) до "
        "{until}. До тех пор он ничего не отправляет, его сообщения уйдут после.",
        "en": "⏳ Telegram made account {phone} (#{account_id}) wait (FloodWait) until {until}. "
        "It sends nothing until then; its messages go out after.",
    },
    "event_logged_out": {
        "ru": "🔑 Аккаунт {phone} (#{account_id}) вышел из сессии. Войти заново: "
        "/add_account {phone}",
        "en": "🔑 Account {phone} (#{account_id}) is logged out. Log in again: "
        "/add_account {phone}",
    },
    "event_banned": {
        "ru": "❌ Telegram заблокировал аккаунт {phone} (#{account_id}).",
        "en": "❌ Telegram banned account {phone} (#{account_id}).",
    },
    "event_llm_failing": {
        "ru": "🤖 ИИ (OpenRouter) отказывает: {reason}. Проверьте ключ и баланс.",
        "en": "🤖 The AI (OpenRouter) refuses: {reason}. Check the key and credits.",
    },
    "event_llm_recovered": {"ru": "✅ ИИ снова отвечает.", "en": "✅ The AI answers again."},
    # --- `salesbot rehearse`: its notices and its one line per failure -----------------------
    "rehearsal_llm_failed": {
        "ru": "Репетиция окончена: ИИ (языковая модель) не ответил — {reason}",
        "en": "The rehearsal ended: the language model failed — {reason}",
    },
    "rehearsal_llm_unusable": {
        "ru": "Репетиция окончена: ИИ ответил, но ответ не годится — {reason}",
        "en": "The rehearsal ended: the language model answered nothing usable — {reason}",
    },
    "rehearsal_no_answer": {
        "ru": "Репетиция окончена: ответа нет за {seconds} с. Проверьте OPENROUTER_BASE_URL, "
        "OPENROUTER_MODEL и журнал {log}",
        "en": "The rehearsal ended: no answer within {seconds} s. Check OPENROUTER_BASE_URL, "
        "OPENROUTER_MODEL and the log {log}",
    },
    "rehearsal_failed": {
        "ru": "Репетиция окончена из-за ошибки: {reason} (подробности в журнале {log})",
        "en": "The rehearsal ended on an error: {reason} (details in the log {log})",
    },
    "rehearsal_no_database": {
        "ru": "Собственная база данных репетиции не запустилась: {reason}",
        "en": "The rehearsal's own database could not start: {reason}",
    },
    "rehearsal_own_script_unread": {
        "ru": "(ваша база данных не читается — {reason}: репетирую со скриптом из "
        "SALES_PROMPT_FILE)",
        "en": "(your database cannot be read — {reason}: rehearsing with SALES_PROMPT_FILE)",
    },
    "rehearsal_ai_stops": {
        "ru": "(здесь ИИ останавливается: {reason})",
        "en": "(the AI stops here: {reason})",
    },
    "event_waiting": {
        "ru": "⏳ Сообщение в диалог {dialog_id} (@{username}) ждёт лимита до {next_at}.",
        "en": "⏳ A message in dialog {dialog_id} (@{username}) waits for quota until {next_at}.",
    },
    "event_operator_wrote": {
        "ru": "✍️ В диалог {dialog_id} с @{username} написали из приложения Telegram:\n{text}\n"
        "ИИ на паузе, чтобы не перебивать. Вернуть ИИ: /resume {dialog_id}",
        "en": "✍️ Someone wrote in dialog {dialog_id} with @{username} from the Telegram app:\n"
        "{text}\nThe AI is paused so it does not talk over them. AI back on: /resume {dialog_id}",
    },
    "event_operator_wrote_paused_already": {
        "ru": "✍️ В диалог {dialog_id} с @{username} написали из приложения Telegram:\n{text}",
        "en": "✍️ Someone wrote in dialog {dialog_id} with @{username} from the Telegram app:\n"
        "{text}",
    },
    "event_database_unreachable": {
        "ru": "🗄 База данных не отвечает ({reason}). Новые сообщения ждут в памяти и будут "
        "сохранены, когда она вернётся; ответы и отправка тоже ждут.",
        "en": "🗄 The database does not answer ({reason}). New messages wait in memory and "
        "are stored once it is back; replies and sends wait too.",
    },
    "event_database_back": {
        "ru": "✅ База данных снова отвечает (не отвечала ~{minutes} мин). Всё, что пришло "
        "за это время, сохраняется и получит ответ.",
        "en": "✅ The database answers again (it was gone ~{minutes} min). What arrived "
        "meanwhile is being stored and answered.",
    },
    "event_campaign_paused": {
        "ru": "⏸ Кампания {n} «{name}» приостановлена: первые сообщения {refused} лидов подряд "
        "не прошли проверку ({reason}); эти лиды пропущены. Проверьте сценарий и варианты "
        "кампании, затем /campaign_resume {n}",
        "en": "⏸ Campaign {n} “{name}” is paused: the openers of {refused} leads in a row "
        "failed the check ({reason}); those leads are skipped. Check the campaign's script "
        "and variants, then /campaign_resume {n}",
    },
    "event_webhook_failing": {
        "ru": "🔌 Вебхук CRM не принимает события уже {minutes} мин: {reason}. Ни одно не "
        "потеряно: {waiting} ждут в базе и уйдут, как только он ответит 2xx. Проверьте "
        "WEBHOOK_URL и сервер CRM.",
        "en": "🔌 The CRM webhook has refused events for {minutes} min: {reason}. None is "
        "lost: {waiting} wait in the database and go as soon as it answers 2xx. Check "
        "WEBHOOK_URL and the CRM's server.",
    },
    "event_webhook_recovered": {
        "ru": "✅ Вебхук CRM снова принимает события (не принимал ~{minutes} мин); "
        "накопившиеся уходят по порядку.",
        "en": "✅ The CRM webhook takes events again (it refused them ~{minutes} min); the "
        "waiting ones go in order.",
    },
    "event_other": {"ru": "ℹ️ {event}", "en": "ℹ️ {event}"},
    # --- /campaign_new: a lead list becomes a campaign ----------------------------------
    "campaign_new_ask_name": {
        "ru": "Новая кампания. Как её назвать? Отмена на любом шаге: /cancel",
        "en": "A new campaign. What is its name? Cancel at any step: /cancel",
    },
    "campaign_new_ask_file": {
        "ru": "Кампания «{name}». Пришлите список лидов файлом: .csv со строкой заголовков и "
        "колонкой username (остальные колонки — context, name, company… — получит ИИ) или "
        ".txt, по строке «@username контекст». UTF-8 или UTF-16, разделитель , ; или "
        "табуляция, до {limit_mb} МБ.",
        "en": "Campaign “{name}”. Send the lead list as a file: a .csv with a header row and a "
        "username column (the other columns, context, name, company…, go to the AI) or a "
        ".txt with one “@username context” a line. UTF-8 or UTF-16, separated by , ; or "
        "tab, up to {limit_mb} MB.",
    },
    "campaign_new_need_file": {
        "ru": "Нужен файл .csv или .txt со списком лидов (как документ). Отмена: /cancel",
        "en": "The lead list is needed as a .csv or .txt file (a document). Cancel: /cancel",
    },
    "campaign_new_file_read": {
        "ru": "Файл «{filename}» прочитан: лидов — {rows}.\n\nТеперь сценарий кампании: "
        "пришлите текст или файл .txt, либо /skip — тогда ИИ пишет по общему сценарию.",
        "en": "File “{filename}” read: {rows} leads.\n\nNow the campaign's script: send a text "
        "or a .txt file, or /skip to have the AI write by the global script.",
    },
    "campaign_new_ask_variants": {
        "ru": "Варианты первого сообщения: пришлите каждый отдельным сообщением — это "
        "указание ИИ, например «коротко, с вопросом о сроках». Варианты раздаются поровну. "
        "Закончить: /done, без вариантов: /skip.",
        "en": "Opener variants: send each one as its own message, an instruction for the AI "
        "such as “short, ask about their deadline”. Leads get them evenly. Finish: /done, "
        "none: /skip.",
    },
    "campaign_new_variant_taken": {
        "ru": "Вариант {number} принят. Следующий вариант или /done.",
        "en": "Variant {number} taken. The next variant, or /done.",
    },
    "campaign_new_summary": {
        "ru": "Кампания «{name}»\nФайл: {filename}, лидов: {rows}\nБудут взяты: {taken}, "
        "не взяты: {not_taken}{reasons}\nСценарий: {script}\nВарианты первого сообщения: "
        "{variants}\n\nСоздать кампанию? /confirm — да, /cancel — нет.",
        "en": "Campaign “{name}”\nFile: {filename}, leads: {rows}\nTo be taken: {taken}, not "
        "taken: {not_taken}{reasons}\nScript: {script}\nOpener variants: {variants}\n\n"
        "Create the campaign? /confirm: yes, /cancel: no.",
    },
    "campaign_new_nothing_to_take": {
        "ru": "Кампания «{name}»\nФайл: {filename}, лидов: {rows}\nНи один лид не подходит"
        "{reasons}\nСоздавать нечего — исправьте файл и начните заново: /campaign_new",
        "en": "Campaign “{name}”\nFile: {filename}, leads: {rows}\nNo lead can be taken"
        "{reasons}\nThere is nothing to create: fix the file and start again: /campaign_new",
    },
    "campaign_new_script_own": {
        "ru": "свой ({chars} символов)",
        "en": "its own ({chars} characters)",
    },
    "campaign_new_script_global": {"ru": "общий", "en": "the global one"},
    "campaign_new_no_variants": {"ru": "нет", "en": "none"},
    "campaign_new_confirm_first": {
        "ru": "Создать кампанию? /confirm — да, /cancel — нет.",
        "en": "Create the campaign? /confirm: yes, /cancel: no.",
    },
    "campaign_created": {
        "ru": "Кампания {id} «{name}» создана: взято лидов — {taken} из {rows}, не взято — "
        "{not_taken}{reasons}\nЛиды начнут получать первые сообщения по мере того, как у "
        "аккаунтов есть лимит.",
        "en": "Campaign {id} “{name}” created: {taken} of {rows} leads taken, {not_taken} not"
        "{reasons}\nThe leads get their openers as the accounts have room.",
    },
    "campaign_not_created": {
        "ru": "Кампания не создана: ни один из {rows} лидов не подходит{reasons}",
        "en": "No campaign created: none of the {rows} leads can be taken{reasons}",
    },
    "campaign_new_cancelled": {
        "ru": "Создание кампании отменено, ничего не сохранено.",
        "en": "The new campaign was cancelled; nothing was stored.",
    },
    "campaign_rejected_caption": {
        "ru": "Не взятые строки ({count}): номер строки в файле, username, причина",
        "en": "The rows not taken ({count}): the line in the file, username, reason",
    },
    "campaign_rejected_header": {"ru": "строка,username,причина", "en": "line,username,reason"},
    "campaign_reason_count": {"ru": "\n• {reason}: {count}", "en": "\n• {reason}: {count}"},
    "campaign_reason_invalid_username": {
        "ru": "неверный username: {why}",
        "en": "invalid username: {why}",
    },
    "campaign_reason_duplicate": {
        "ru": "повтор строки {line}",
        "en": "duplicate of line {line}",
    },
    "campaign_reason_fields_too_long": {
        "ru": "остальные колонки дают {length} символов заметок для ИИ, а помещается {limit}",
        "en": "its other columns make {length} characters of notes for the AI, more than {limit}",
    },
    "campaign_reason_do_not_contact": {
        "ru": "в списке «не беспокоить»",
        "en": "on the do-not-contact list",
    },
    "campaign_reason_has_dialog": {
        "ru": "уже есть диалог {dialog_id}",
        "en": "already has dialog {dialog_id}",
    },
    "campaign_count_invalid_username": {"ru": "неверный username", "en": "invalid username"},
    "campaign_count_duplicate": {"ru": "повтор в файле", "en": "duplicate in the file"},
    "campaign_count_fields_too_long": {
        "ru": "слишком длинные колонки",
        "en": "columns too long for the AI's notes",
    },
    "campaign_count_do_not_contact": {
        "ru": "в списке «не беспокоить»",
        "en": "on the do-not-contact list",
    },
    "campaign_count_has_dialog": {
        "ru": "уже был или есть диалог",
        "en": "already in a dialog, open or past",
    },
    # why a lead file cannot be read (one line; nothing is imported)
    "lead_file_empty": {"ru": "Файл пустой.", "en": "The file is empty."},
    "lead_file_format": {
        "ru": "«{filename}» — не .csv и не .txt: сохраните список как CSV или текст.",
        "en": "“{filename}” is neither a .csv nor a .txt: save the list as CSV or as text.",
    },
    "lead_file_too_large": {
        "ru": "Файл слишком большой: {size_mb} МБ, а список — до {limit_mb} МБ.",
        "en": "The file is too big: {size_mb} MB, and a list may have up to {limit_mb} MB.",
    },
    "lead_file_too_many_rows": {
        "ru": "В файле больше {limit} строк: разделите его на несколько кампаний.",
        "en": "The file has more than {limit} rows: split it into several campaigns.",
    },
    "lead_file_binary": {
        "ru": "Файл не текстовый ({kind}): сохраните список как CSV.",
        "en": "The file is not text ({kind}): save the list as CSV.",
    },
    "lead_file_encoding": {
        "ru": "Файл не в UTF-8 и не в UTF-16 (байт {offset} не читается): сохраните его как "
        "«CSV UTF-8» или «Текст Юникод».",
        "en": "The file is not UTF-8 or UTF-16 text (byte {offset} cannot be read): save it "
        "as “CSV UTF-8” or “Unicode text”.",
    },
    "lead_file_no_rows": {
        "ru": "В файле нет ни одного лида.",
        "en": "The file has no leads.",
    },
    "lead_file_no_username_column": {
        "ru": "В первой строке файла нет колонки «username» (колонки: {columns}).",
        "en": "The file's first row has no “username” column (its columns: {columns}).",
    },
    "lead_file_malformed": {
        "ru": "Файл не читается как CSV начиная со строки {line} (слишком длинная ячейка?).",
        "en": "The file cannot be read as CSV from line {line} (a cell too long?).",
    },
    "lead_file_column_twice": {
        "ru": "Колонка «{column}» в первой строке указана дважды.",
        "en": "The column “{column}” appears twice in the first row.",
    },
    "lead_file_retry": {
        "ru": "{problem} Ничего не импортировано. Пришлите исправленный файл или /cancel.",
        "en": "{problem} Nothing was imported. Send a corrected file, or /cancel.",
    },
    # a campaign's name, script or variants breaking a rule
    "campaign_name_empty": {"ru": "Нужно название кампании.", "en": "The campaign needs a name."},
    "campaign_name_long": {
        "ru": "Название слишком длинное: {length} символов, а можно до {limit}.",
        "en": "The name is too long: {length} characters, and up to {limit} fit.",
    },
    "campaign_script_long": {
        "ru": "Сценарий слишком длинный: {length} символов, а можно до {limit}. Пришлите "
        "короче или /skip.",
        "en": "The script is too long: {length} characters, and up to {limit} fit. Send a "
        "shorter one, or /skip.",
    },
    "campaign_script_not_txt": {
        "ru": "Сценарий — текстом или файлом .txt, а пришёл «{name}».",
        "en": "The script goes as a text or a .txt file, not “{name}”.",
    },
    "campaign_variant_empty": {
        "ru": "Вариант {number} пустой.",
        "en": "Opener variant {number} is empty.",
    },
    "campaign_variant_long": {
        "ru": "Вариант {number} слишком длинный: {length} символов, а можно до {limit}.",
        "en": "Opener variant {number} is too long: {length} characters, and up to {limit} fit.",
    },
    "campaign_too_many_variants": {
        "ru": "Вариантов не больше {limit}. Закончить: /done",
        "en": "At most {limit} opener variants. Finish: /done",
    },
    # --- help ------------------------------------------------------------------------------
    "help_header": {"ru": "Команды:", "en": "Commands:"},
    "help_accounts": {"ru": "Аккаунты", "en": "Accounts"},
    "help_dialogs": {"ru": "Диалоги", "en": "Dialogs"},
    "help_campaigns": {
        "ru": "Кампании (здесь N — номер кампании из /campaigns)",
        "en": "Campaigns (here N is a campaign number from /campaigns)",
    },
    "help_other": {"ru": "Экспорт, сценарий, статистика", "en": "Exports, script, statistics"},
    "help_footer": {
        "ru": "N — номер диалога из /list. Время указано в часовом поясе {tz}.",
        "en": "N is a dialog number from /list. Times are in the {tz} time zone.",
    },
}

# Words put into the sentences above.
WORDS: dict[str, dict[Language, str]] = {
    "draft_kind.opener": {"ru": "первое сообщение", "en": "opener"},
    "draft_kind.reply": {"ru": "ответ", "en": "reply"},
    "draft_kind.follow_up": {"ru": "напоминание", "en": "follow-up"},
    "dialog_status.active": {"ru": "активен", "en": "active"},
    "dialog_status.paused": {"ru": "на паузе", "en": "paused"},
    "dialog_status.stopped": {"ru": "остановлен", "en": "stopped"},
    "dialog_status.finished": {"ru": "завершён", "en": "finished"},
    "dialog_status.opted_out": {
        "ru": "закрыт: клиент отписался",
        "en": "closed: the prospect opted out",
    },
    "dialog_status.failed": {"ru": "не удался", "en": "failed"},
    "outcome.continue": {"ru": "в работе", "en": "in progress"},
    "outcome.goal": {"ru": "цель достигнута", "en": "goal reached"},
    "outcome.handoff": {"ru": "передан человеку", "en": "handed off"},
    "outcome.opt_out": {"ru": "клиент отписался", "en": "opted out"},
    "outcome.rejected": {"ru": "клиент отказался", "en": "the prospect declined"},
    "outcome.not_qualified": {"ru": "клиент не подходит", "en": "the prospect is not qualified"},
    "stage.introduction": {"ru": "знакомство", "en": "introduction"},
    "stage.qualification": {"ru": "выявление потребности", "en": "qualification"},
    "stage.value": {"ru": "ценность", "en": "value"},
    "stage.objections": {"ru": "возражения", "en": "objections"},
    "stage.close": {"ru": "закрытие", "en": "close"},
    "campaign_status.active": {"ru": "идёт", "en": "running"},
    "campaign_status.paused": {"ru": "на паузе", "en": "paused"},
    "campaign_status.stopped": {"ru": "остановлена", "en": "stopped"},
    "action.campaign_pause": {"ru": "поставить на паузу", "en": "paused"},
    "action.campaign_resume": {"ru": "возобновить", "en": "resumed"},
    "account_status.active": {"ru": "активен", "en": "active"},
    "account_status.disabled": {"ru": "отключён", "en": "disabled"},
    "account_status.limited": {"ru": "ограничен", "en": "limited"},
    "account_status.banned": {"ru": "заблокирован", "en": "banned"},
    "account_status.logged_out": {"ru": "вышел из сессии", "en": "logged out"},
    "action.stop": {"ru": "остановить", "en": "stopped"},
    "action.pause": {"ru": "поставить на паузу", "en": "paused"},
    "action.close": {"ru": "закрыть", "en": "closed"},
    "action.resume": {"ru": "возобновить", "en": "resumed"},
    "action.disable": {"ru": "отключить", "en": "disabled"},
    "action.enable": {"ru": "включить", "en": "enabled"},
    "file_kind.xlsx": {"ru": "похоже, книга Excel или архив", "en": "an Excel workbook?"},
    "file_kind.xls": {"ru": "похоже, старый Excel (.xls) или Word", "en": "old Excel or Word?"},
    "file_kind.pdf": {"ru": "PDF", "en": "a PDF"},
    "file_kind.binary": {"ru": "двоичные данные", "en": "binary data"},
    "unreachable.privacy": {
        "ru": "настройки приватности запрещают",
        "en": "their privacy settings forbid it",
    },
    "unreachable.not_found": {"ru": "такого пользователя нет", "en": "there is no such user"},
    "unreachable.deactivated": {"ru": "аккаунт удалён", "en": "the account is deleted"},
    "unreachable.invalid": {"ru": "username недействителен", "en": "the username is invalid"},
    "unreachable.blocked": {
        "ru": "он(а) заблокировал(а) наш аккаунт",
        "en": "they blocked our account",
    },
}


@dataclass(frozen=True)
class Command:
    """One entry of /help and of the menu registered with setMyCommands."""

    name: str
    section: str
    args: dict[Language, str]
    about: dict[Language, str]


COMMANDS: tuple[Command, ...] = (
    Command(
        "add_account",
        "help_accounts",
        {"ru": "<телефон> [прокси]", "en": "<phone> [proxy]"},
        {"ru": "добавить аккаунт: код, затем пароль 2FA", "en": "add an account: code, then 2FA"},
    ),
    Command(
        "list_accounts",
        "help_accounts",
        {"ru": "", "en": ""},
        {"ru": "аккаунты, лимиты, следующий слот", "en": "accounts, quotas, next free slot"},
    ),
    Command(
        "check_account",
        "help_accounts",
        {"ru": "<телефон>", "en": "<phone>"},
        {"ru": "спросить @SpamBot, ограничен ли аккаунт", "en": "ask @SpamBot if it is limited"},
    ),
    Command(
        "disable_account",
        "help_accounts",
        {"ru": "<телефон>", "en": "<phone>"},
        {"ru": "отключить аккаунт", "en": "disable an account"},
    ),
    Command(
        "enable_account",
        "help_accounts",
        {"ru": "<телефон>", "en": "<phone>"},
        {"ru": "включить аккаунт", "en": "enable an account"},
    ),
    Command(
        "start",
        "help_dialogs",
        {"ru": "@username [контекст для ИИ]", "en": "@username [context for the AI]"},
        {"ru": "начать диалог", "en": "start a dialog"},
    ),
    Command(
        "list",
        "help_dialogs",
        {"ru": "", "en": ""},
        {"ru": "открытые диалоги", "en": "open dialogs"},
    ),
    Command(
        "view",
        "help_dialogs",
        {"ru": "N", "en": "N"},
        {"ru": "весь диалог N", "en": "the whole dialog N"},
    ),
    Command(
        "say",
        "help_dialogs",
        {"ru": "N <текст>", "en": "N <text>"},
        {"ru": "написать в диалог N вручную", "en": "write in dialog N by hand"},
    ),
    Command(
        "close",
        "help_dialogs",
        {"ru": "N rejected|not_qualified [заметка]", "en": "N rejected|not_qualified [note]"},
        {"ru": "закрыть диалог N как потерянный", "en": "close dialog N as a lost lead"},
    ),
    Command(
        "review",
        "help_dialogs",
        {"ru": "N on|off", "en": "N on|off"},
        {
            "ru": "сообщения ИИ в диалоге N — на одобрение (on) или сразу (off)",
            "en": "the AI's messages in dialog N: for approval (on) or straight out (off)",
        },
    ),
    Command(
        "pause",
        "help_dialogs",
        {"ru": "N", "en": "N"},
        {"ru": "выключить ИИ в диалоге N", "en": "AI off in dialog N"},
    ),
    Command(
        "resume",
        "help_dialogs",
        {"ru": "N", "en": "N"},
        {"ru": "включить ИИ в диалоге N", "en": "AI on in dialog N"},
    ),
    Command(
        "stop",
        "help_dialogs",
        {"ru": "N", "en": "N"},
        {"ru": "остановить диалог N", "en": "stop dialog N"},
    ),
    Command(
        "dnc",
        "help_dialogs",
        {"ru": "", "en": ""},
        {"ru": "список «не беспокоить»", "en": "the do-not-contact list"},
    ),
    Command(
        "dnc_add",
        "help_dialogs",
        {"ru": "@username [причина]", "en": "@username [reason]"},
        {"ru": "больше никогда не писать ему(ей)", "en": "never write to them again"},
    ),
    Command(
        "dnc_remove",
        "help_dialogs",
        {"ru": "@username|id", "en": "@username|id"},
        {"ru": "убрать из «не беспокоить»", "en": "take off the do-not-contact list"},
    ),
    Command(
        "campaign_new",
        "help_campaigns",
        {"ru": "[название]", "en": "[name]"},
        {
            "ru": "новая кампания из файла .csv/.txt: сценарий, варианты, отчёт",
            "en": "a new campaign from a .csv/.txt list: script, variants, report",
        },
    ),
    Command(
        "campaigns",
        "help_campaigns",
        {"ru": "", "en": ""},
        {"ru": "кампании и их ход", "en": "campaigns and their progress"},
    ),
    Command(
        "campaign",
        "help_campaigns",
        {"ru": "N", "en": "N"},
        {
            "ru": "воронка кампании N, всего и по вариантам",
            "en": "campaign N's funnel, overall and per variant",
        },
    ),
    Command(
        "campaign_pause",
        "help_campaigns",
        {"ru": "N", "en": "N"},
        {"ru": "приостановить кампанию N", "en": "pause campaign N"},
    ),
    Command(
        "campaign_resume",
        "help_campaigns",
        {"ru": "N", "en": "N"},
        {"ru": "продолжить кампанию N", "en": "resume campaign N"},
    ),
    Command(
        "campaign_stop",
        "help_campaigns",
        {"ru": "N", "en": "N"},
        {"ru": "остановить кампанию N навсегда", "en": "stop campaign N for good"},
    ),
    Command(
        "campaign_export",
        "help_campaigns",
        {"ru": "N", "en": "N"},
        {"ru": "лиды кампании N файлом CSV для CRM", "en": "campaign N's leads as a CSV for a CRM"},
    ),
    Command(
        "export",
        "help_other",
        {"ru": "N", "en": "N"},
        {"ru": "диалог N файлом .txt", "en": "dialog N as a .txt file"},
    ),
    Command(
        "export_all",
        "help_other",
        {"ru": "", "en": ""},
        {"ru": "все диалоги архивом .zip", "en": "every dialog as a .zip"},
    ),
    Command(
        "prompt",
        "help_other",
        {"ru": "", "en": ""},
        {"ru": "показать сценарий продаж", "en": "show the sales script"},
    ),
    Command(
        "set_prompt",
        "help_other",
        {"ru": "[текст]", "en": "[text]"},
        {"ru": "заменить сценарий: текст или файл .txt", "en": "replace the script: text or .txt"},
    ),
    Command(
        "stats",
        "help_other",
        {"ru": "", "en": ""},
        {
            "ru": "статистика за сегодня и всё время, график за 14 дней",
            "en": "statistics, today and all time, a 14-day chart",
        },
    ),
    Command(
        "cancel",
        "help_other",
        {"ru": "", "en": ""},
        {
            "ru": "прервать вход, замену сценария или новую кампанию",
            "en": "leave a login, a script change or a new campaign",
        },
    ),
    Command(
        "help",
        "help_other",
        {"ru": "", "en": ""},
        {"ru": "эта справка", "en": "this help"},
    ),
)

# The domain explains a malformed username or phone in English; Russian admins read these.
_REASONS_RU: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), template)
    for pattern, template in (
        (r"^it is empty$", "пусто"),
        (r"^only t\.me links are understood$", "из ссылок понимаю только t.me"),
        (
            r"^only Latin letters, digits and _ are allowed$",
            "допустимы только латинские буквы, цифры и _",
        ),
        (r"^it must be (\d+)-(\d+) characters long, not (\d+)$", r"нужно \1–\2 символа, а не \3"),
        (r"^it must start with a letter$", "должен начинаться с буквы"),
        (r"^it must not end with _$", "не может заканчиваться на _"),
        (r"^it must not contain two _ in a row$", "не может содержать два _ подряд"),
        (
            r"^only digits, spaces, dashes and a leading \+ are allowed$",
            "допустимы только цифры, пробелы, дефисы и + в начале",
        ),
        (
            r"^an international number has (\d+)-(\d+) digits, not (\d+)$",
            r"в международном номере \1–\2 цифр, а не \3",
        ),
        # why the AI stopped in a dialog (the output guard, the model's health)
        (r"^the model's answer was empty twice$", "ИИ дважды ответил пустым сообщением"),
        (
            r"^the model's answer repeated its instructions twice$",
            "ИИ дважды повторил свои инструкции",
        ),
        (
            r"^the model's answer was unreadable structured output twice$",
            "ИИ дважды ответил нечитаемыми данными",
        ),
        (
            r"^the model's answer had template placeholders like \[Your name\] twice$",
            "ИИ дважды оставил в ответе заготовки вроде [Ваше имя]",
        ),
        (
            r"^the model's answer claimed to be human or denied being an AI twice$",
            "ИИ дважды назвался человеком или отрицал, что он ИИ",
        ),
        (
            r"^the model's answer was degenerate text \(one character or word repeated\) twice$",
            "ИИ дважды ответил бессмыслицей (повтор одного символа или слова)",
        ),
        (
            r"^the model keeps failing for this dialog while it answers others \((.*)\)$",
            r"ИИ раз за разом не справляется с этим диалогом, хотя в других отвечает (\1)",
        ),
    )
)


class Texts:
    """The catalogue in one language."""

    def __init__(self, language: Language = "ru") -> None:
        if language not in LANGUAGES:
            raise ValueError(f"unsupported language {language!r}")
        self.language: Language = language

    def __call__(self, key: str, **values: object) -> str:
        return MESSAGES[key][self.language].format(**values)

    def word(self, kind: str, value: object) -> str:
        """`word("stage", Stage.VALUE)` -> "ценность"; an unknown value is shown as is."""
        raw = str(getattr(value, "value", value))
        entry = WORDS.get(f"{kind}.{raw}")
        return entry[self.language] if entry else raw

    def reason(self, english: str) -> str:
        """A domain error's English reason, in the admin's language."""
        if self.language == "en":
            return english
        for pattern, template in _REASONS_RU:
            if pattern.match(english):
                return pattern.sub(template, english)
        return english

    def command_usage(self, name: str) -> str:
        command = next(c for c in COMMANDS if c.name == name)
        args = command.args[self.language]
        return f"/{name} {args}".rstrip()
