"""Questions as data, answered by flags or by a person through one code path.

A Question knows its prompt, its default, how to check an answer and which flag answers it
without a terminal. `Wizard.ask_all` walks a list of questions: a value given by flag is
checked like a typed one; a missing value is asked on a terminal, taken from the default with
--yes, or else reported as an error that names the flag. Ctrl-C at a question is Declined
(a note, exit 130); the end of input is a usage error (exit 2). Nothing is written while
questions run.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rcwiz import errors
from rcwiz.errors import Invalid
from rcwiz.ui.console import Console, escape

Answers = dict[str, str]


def _always(answers: Answers) -> bool:
    return True


@dataclass(frozen=True)
class Question:
    key: str
    flag: str  # the option that answers it without a terminal, e.g. "--user"
    prompt: str
    kind: str = "text"  # text, password or select
    choices: Callable[[Answers], Sequence[tuple[str, str]]] | None = None  # (value, label)
    default: Callable[[Answers], str | None] | None = None
    # Return the value to keep (possibly normalised), or raise Invalid.
    check: Callable[[str, Answers], str] | None = None
    when: Callable[[Answers], bool] = _always
    # A line shown above the prompt (terminal only); may depend on earlier answers.
    instruction: Callable[[Answers], str | None] | None = None

    def default_for(self, answers: Answers) -> str | None:
        return self.default(answers) if self.default else None


@dataclass
class Wizard:
    console: Console
    given: dict[str, str | None] = field(default_factory=dict)
    interactive: bool = False
    assume_yes: bool = False

    def ask_all(self, questions: Sequence[Question], answers: Answers | None = None) -> Answers:
        """Answer every question that applies and is not answered yet, in order."""
        answers = {} if answers is None else answers
        for question in questions:
            if question.key not in answers and question.when(answers):
                answers[question.key] = self.answer(question, answers)
        return answers

    def forget(self, answers: Answers, *keys: str) -> None:
        """Drop answers (and the flags that gave them) so ask_all asks them again."""
        for key in keys:
            answers.pop(key, None)
            self.given.pop(key, None)

    def answer(self, question: Question, answers: Answers) -> str:
        value = self.given.get(question.key)
        if value is not None:
            try:
                return self._checked(question, value, answers)
            except Invalid as exc:
                if not self.interactive:
                    raise errors.UsageError(f"{question.flag}: {exc}") from exc
                self.console.error(str(exc))
        if self.interactive:
            return self._prompt_until_valid(question, answers)
        default = question.default_for(answers)
        if default is not None and self.assume_yes:
            return self._checked(question, default, answers)
        with_default = f" (or --yes to accept '{default}')" if default is not None else ""
        raise errors.UsageError(
            f"No answer for '{question.prompt}': there is no terminal to ask on.",
            f"Give it with {question.flag}{with_default}.",
        )

    @staticmethod
    def _checked(question: Question, value: str, answers: Answers) -> str:
        if question.choices is not None:
            allowed = [v for v, _ in question.choices(answers)]
            if value not in allowed:
                raise Invalid(f"'{value}' is not one of: {', '.join(allowed)}.")
        return question.check(value, answers) if question.check else value

    def _prompt_until_valid(self, question: Question, answers: Answers) -> str:
        while True:
            raw = self._prompt(question, answers)
            try:
                return self._checked(question, raw, answers)
            except Invalid as exc:
                self.console.err.print(f"[red]{escape(str(exc))}[/]")

    def _prompt(self, question: Question, answers: Answers) -> str:
        import questionary

        default = question.default_for(answers)
        instruction = question.instruction(answers) if question.instruction else None
        if instruction:
            self.console.out.print(f"[dim]{escape(instruction)}[/]")
        if question.kind == "select":
            assert question.choices is not None
            options = [
                questionary.Choice(title=label, value=value)
                for value, label in question.choices(answers)
            ]
            prompt = questionary.select(question.prompt, choices=options, default=default)
        elif question.kind == "password":
            prompt = questionary.password(question.prompt)
        else:
            prompt = questionary.text(question.prompt, default=default or "")
        return self._run(prompt, question.prompt)

    def choose(self, message: str, options: Sequence[tuple[str, str]]) -> str:
        """A menu outside the question list (rename / replace / cancel); terminal only."""
        import questionary

        choices = [questionary.Choice(title=label, value=value) for value, label in options]
        return self._run(questionary.select(message, choices=choices), message)

    def confirm(self, message: str, default: bool = False) -> bool:
        """Ask yes/no on a terminal; without one, --yes says yes and anything else says no."""
        if not self.interactive:
            return self.assume_yes
        import questionary

        # auto_enter=False: "y" then Enter, as people type it. With questionary's default the
        # key alone answers, and the Enter that follows answers the next question with its
        # default (measured: "n" + Enter to each "Keep ...?" kept every second setting).
        prompt = questionary.confirm(message, default=default, auto_enter=False)
        return bool(self._run(prompt, message))

    @staticmethod
    def _run(prompt: Any, what: str) -> Any:  # prompt: a questionary Question
        try:
            value = prompt.unsafe_ask()
        except EOFError as exc:
            raise errors.UsageError(f"The input ended before '{what}' was answered.") from exc
        except KeyboardInterrupt:
            value = None
        if value is None:  # Ctrl-C at a question: the person chose not to go on
            raise errors.Declined(f"Cancelled at '{what}'.") from None
        return value


def terminal_available() -> bool:
    """A person can be asked: stdin and stdout are both terminals."""
    return sys.stdin.isatty() and sys.stdout.isatty()


def ask_first(console: Console, question: str, *, yes: bool, unasked: str, hint: str) -> None:
    """Go on only when YES (--yes) or a person at a terminal answers QUESTION yes.

    Without a terminal and without --yes: UNASKED (one sentence) as a usage error with HINT;
    a no (or Ctrl-C): Declined, "Nothing was changed." Removals that cannot be undone
    (upload sessions, the trash) ask through here.
    """
    if yes:
        return
    wizard = Wizard(console, interactive=terminal_available())
    if not wizard.interactive:
        raise errors.UsageError(unasked, hint)
    if not wizard.confirm(question, default=False):
        raise errors.Declined("Nothing was changed.")
