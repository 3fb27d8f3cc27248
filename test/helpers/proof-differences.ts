/**
 * THE ONE PLACE where minifo may legitimately differ from kernel overlayfs
 * (mount -t overlay -o redirect_dir=on,index=on) in the differential tests. Each difference names its reason.
 *
 * 1. EXDEV: minifo never returns it (renames are redirected, mini_fo style), so an EXDEV from minifo is
 *    always a failure, even where overlayfs says EXDEV too. (With redirect_dir=on and index=on overlayfs
 *    has not returned it in these sequences either; if it ever does, the trees will differ and the test
 *    says so.)
 * 2. Base hard links: minifo treats two base names of one inode as separate files (as mini_fo did; see
 *    baseStat in app/overlay/overlay.ts), while overlayfs with index=on keeps them one inode across
 *    copy-up. The shared base tree therefore has no hard links; links made through the mount are
 *    compared in full, st_nlink included.
 * 3. Inode numbers and timestamps are not compared: the two assign them independently (minifo's own tests
 *    check st_ino stability and UTIME_NOW/OMIT).
 *
 * Folders' st_nlink is compared like everything else: minifo reports 1 for a base folder with changes at
 * or below it, as overlayfs does for a merged folder.
 */

/** Whether minifo's answer and the kernel's count as the same (difference 1). */
export function sameOutcome(minifo: string, kernel: string): boolean {
  return minifo === kernel && minifo !== 'EXDEV';
}
