"""What a worktree holds, measured so that nothing in the tree under review can reshape
it (SPEC 5 `scope_respected`, SPEC 11.1): the paths that differ from the base commit and
the git tree of the worktree's content, and the `neutral` git directory that both this and
the change's diff run git in.

Git applies attributes when it reads files into a tree: `text`/`eol` (line endings),
`ident`, `working-tree-encoding` and `filter` all make the stored blob differ from the
bytes on disk, and a `.gitattributes` is a file the agent can write. So:

- While every `.gitattributes` of the worktree is exactly the base commit's (the owner's
  rules, with which the worktree was checked out), files are read with those rules, and a
  file checked out with a conversion is unchanged until its content changes.
- Once one is new, changed, deleted or a symlink, none is honoured: each file is stored as
  the bytes on disk. Its changes then show as they are (a line-ending change, a file in
  another encoding), and the `.gitattributes` change itself is in the change, flagged.

Config plays no part either way: the scratch git directory has none of the repository's
(no autocrlf, no filter drivers), only its objects.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from cockpit.engine.repo import gitops
from cockpit.engine.repo.gitops import Changes, Where

# Outranks every .gitattributes of a tree (it is `info/attributes`): no line-ending,
# ident, encoding or filter conversion, and no diff driver, applies.
NEUTRAL_ATTRIBUTES = "* !text !eol !crlf !ident !filter !working-tree-encoding !diff"


@contextlib.contextmanager
def neutral(root: Where, *, tree_attributes: bool = False) -> Iterator[dict[str, str]]:
    """The environment of a scratch git directory that borrows the object store of the
    repository at `root` (objects written land there) and has none of its config, refs,
    index or attributes: git run with it sees files' bytes as they are (with
    `tree_attributes`, the worktree's own .gitattributes still apply). Its GIT_WORK_TREE
    is an empty directory, the command's cwd for object-only work; set it to a worktree to
    read that. Raises GitError."""
    # One git process for both (the object format is the last line; a path may hold "\n").
    listed = gitops.run(
        root, "rev-parse", "--path-format=absolute", "--git-common-dir", "--show-object-format"
    )
    common, _, fmt = listed.removesuffix("\n").rpartition("\n")
    with tempfile.TemporaryDirectory(prefix="cockpit-git-") as scratch:
        git_dir, empty = Path(scratch) / "git", Path(scratch) / "tree"
        for sub in ("info", "refs", "objects"):
            (git_dir / sub).mkdir(parents=True)
        empty.mkdir()
        (git_dir / "HEAD").write_text("ref: refs/heads/none\n", encoding="utf-8")
        if not tree_attributes:
            (git_dir / "info" / "attributes").write_text(NEUTRAL_ATTRIBUTES + "\n", "utf-8")
        config = f"[core]\n\trepositoryformatversion = {int(fmt != 'sha1')}\n\tbare = false\n"
        config += f"[extensions]\n\tobjectformat = {fmt}\n" if fmt != "sha1" else ""
        (git_dir / "config").write_text(config, encoding="utf-8")
        yield {
            "GIT_DIR": str(git_dir),
            "GIT_WORK_TREE": str(empty),
            "GIT_OBJECT_DIRECTORY": str(Path(common) / "objects"),
            "GIT_INDEX_FILE": str(Path(scratch) / "index"),
        }


def attributes_changed(root: Where, base: str) -> bool:
    """True if any .gitattributes of the worktree at `root` is new, differs from the base
    commit's, is a symlink, or if one of the base commit's is gone."""
    listed = gitops.run(root, "ls-tree", "-r", "-z", "--full-tree", base)
    in_base = {}
    for entry in listed.split("\0"):
        meta, _, path = entry.partition("\t")
        if path == ".gitattributes" or path.endswith("/.gitattributes"):
            in_base[path] = meta.split(" ")[-1]
    top = root.path if isinstance(root, gitops.Worktree) else root
    found = set()
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = [d for d in dirnames if d != ".git"]
        if ".gitattributes" not in filenames:
            continue
        rel = os.path.relpath(os.path.join(dirpath, ".gitattributes"), top).replace(os.sep, "/")
        found.add(rel)
        if Path(top, rel).is_symlink() or rel not in in_base:
            return True
        if gitops.run(root, "hash-object", "--no-filters", "--", rel).strip() != in_base[rel]:
            return True
    return bool(set(in_base) - found)


def changes(root: Where, base: str) -> Changes:
    """Every path that differs between `base` and the working tree, committed or not,
    untracked files included unless the base commit's rules ignore them
    (`gitops.untracked`), and the tree of the worktree's content. Measured with a scratch
    index made from `base` in a `neutral` git directory: the worktree's own index, HEAD,
    refs and config play no part, and its attributes only while they are the base
    commit's (see the module's docstring). Raises GitError."""
    honoured = not attributes_changed(root, base)
    with neutral(root, tree_attributes=honoured) as env:
        top = root.path if isinstance(root, gitops.Worktree) else root
        env = {**env, "GIT_WORK_TREE": os.path.abspath(top)}
        gitops.run(root, "read-tree", base, extra_env=env)
        gitops.run(root, "update-index", "-q", "--refresh", extra_env=env)
        modified = gitops.run(
            root, "diff-files", "--name-only", "-z", "--ignore-submodules=dirty", extra_env=env
        )
        untracked = gitops.untracked(root, base, env)
        paths = sorted({p for p in modified.split("\0") if p} | set(untracked))
        if paths:
            listing = Path(env["GIT_INDEX_FILE"]).parent / "paths"
            listing.write_bytes(b"\0".join(os.fsencode(p) for p in paths))
            gitops.run(
                root,
                "add",
                "--all",
                "--force",
                f"--pathspec-from-file={listing}",
                "--pathspec-file-nul",
                extra_env={**env, "GIT_LITERAL_PATHSPECS": "1"},
            )
        tree = gitops.run(root, "write-tree", extra_env=env).strip()
    # A repository made inside the worktree is recorded as a bare pointer to a commit of
    # its own: its files are in the worktree (validation runs them) but in no tree. Each
    # of them is a changed path all the same, so that scope_respected sees it.
    inner = _files_of_nested(top, gitops.nested_repositories(root, base))
    return Changes(sorted(set(paths) | set(inner)), tree)


def _files_of_nested(top: str | Path, nested: list[str]) -> list[str]:
    """Every file (not following links) under each of the `nested` directories of the
    working tree at `top`, but for their `.git`, by path relative to `top`."""
    found = []
    for folder in nested:
        for dirpath, dirnames, filenames in os.walk(os.path.join(top, folder)):
            dirnames[:] = [d for d in dirnames if d != ".git"]
            for name in filenames:
                if name != ".git":
                    rel = os.path.relpath(os.path.join(dirpath, name), top)
                    found.append(rel.replace(os.sep, "/"))
    return found
