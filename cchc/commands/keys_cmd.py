"""``cchc keys``: the Ed25519 key that signs the audit checkpoints (``cchc.anchor``)."""

from __future__ import annotations

import typer
from rich.markup import escape

from cchc.commands.common import console, fail
from cchc.commands.state import state_of

app = typer.Typer(help="Make the key that signs the audit checkpoints.", no_args_is_help=True)


@app.command("init")
def init_command(
    ctx: typer.Context,
    force: bool = typer.Option(
        False, help="Replace an existing key (its public key is kept for older checkpoints)."
    ),
) -> None:
    """Make the signing key (CCHC_SIGNING_KEY or DATA_DIR/keys/…, mode 0600) and its public key."""
    from cchc.anchor import SigningKeyError, checkpoint_folder, init_key

    settings = state_of(ctx).settings()
    try:
        path, fingerprint = init_key(settings, force=force)
    except SigningKeyError as exc:
        raise fail(escape(str(exc))) from None
    public = checkpoint_folder(settings).public_key_path
    console.print(
        f"[green]✓[/] Khóa ký điểm neo nhật ký (private, 0600): {escape(str(path))}\n"
        f"  Khóa công khai: {escape(str(public))}\n  Dấu vân tay: {fingerprint}",
        highlight=False,
    )
